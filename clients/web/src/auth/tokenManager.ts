import type { FetchLike, TokenProvider } from '../api/client'
import { MatrixError, NetworkError } from '../api/errors'
import { loadSession, saveSession, SESSION_KEY, type Session } from '../api/session'
import { backoffDelay } from '../sync/backoff'
import { OAuthError, revokeToken, tokenRequest } from './oauth'

export const SESSION_ENDED_MESSAGE =
  'You have been signed out: your session was ended on the server or has expired. Please sign in again.'
export const OTHER_TAB_MESSAGE = 'You signed in or out in another tab. Please sign in again.'

/** A token this close to its expiry is refreshed before it is sent. */
export const EXPIRY_SKEW_MS = 5_000
/** Refresh at 80% of the remaining lifetime, at most this long before expiry. */
export const MAX_REFRESH_MARGIN_MS = 60_000
const MAX_TIMEOUT_MS = 2_147_483_647

/** How long to wait before refreshing an access token that expires at `expiresAt`. */
export function refreshDelay(expiresAt: number, now: number): number {
  const remaining = expiresAt - now
  if (remaining <= 0) return 0
  return Math.max(0, remaining - Math.min(MAX_REFRESH_MARGIN_MS, remaining * 0.2))
}

/** Runs `fn` while holding the lock `name` (across the tabs of this origin). */
export type LockFn = <T>(name: string, fn: () => Promise<T>) => Promise<T>

function browserLock(): LockFn | null {
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks
  if (!locks || typeof locks.request !== 'function') return null
  return <T>(name: string, fn: () => Promise<T>) => locks.request(name, () => fn()) as Promise<T>
}

/** The stored session; undefined when this browser gives us no storage (then we can't tell). */
function loadStored(): Session | null | undefined {
  try {
    if (!globalThis.localStorage) return undefined
  } catch {
    return undefined
  }
  return loadSession()
}

/** The session is over: every later call gets this (an `M_UNKNOWN_TOKEN` without soft logout). */
export class SessionEndedError extends MatrixError {
  constructor(message: string) {
    super(401, 'M_UNKNOWN_TOKEN', message, { soft_logout: false })
    this.name = 'SessionEndedError'
  }
}

export interface TokenManagerOptions {
  session: Session
  fetch?: FetchLike
  now?: () => number
  /** Persists the session after a refresh (default: localStorage). */
  save?: (session: Session) => void
  /** Reads the stored session, to take another tab's refresh (default: localStorage). */
  load?: () => Session | null | undefined
  /** Serialises refreshes across tabs (default: Web Locks when the browser has them). */
  lock?: LockFn | null
  /** Called once when the session can't go on (refresh refused, signed out in another tab). */
  onEnded?: (message: string) => void
  /** Delay before retrying after `failures` refreshes failed for network reasons (ms). */
  retryDelay?: (failures: number) => number
  /** Watch other tabs (storage events) and the page coming back into view (default: in a browser). */
  watchBrowser?: boolean
}

/**
 * The tokens of an OAuth session: hands out the access token, refreshes it
 * before it expires (timer) and when the server says it has (soft logout),
 * with one refresh at a time for every caller (and, with Web Locks, for every
 * tab: a refresh token presented twice signs the session out), and revokes
 * the session on sign-out.
 *
 * A refresh the server refuses (`invalid_grant`: revoked, reused, expired)
 * ends the session: `onEnded` is called and every later call rejects with
 * {@link SessionEndedError}. Network failures are passed on and the refresh
 * is retried with back-off.
 */
export class TokenManager implements TokenProvider {
  private sessionValue: Session
  private inflight: Promise<string> | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private failures = 0
  private endedMessage: string | null = null
  private running = false
  private readonly listeners = new Set<() => void>()
  private readonly fetchImpl?: FetchLike
  private readonly now: () => number
  private readonly save: (session: Session) => void
  private readonly load: () => Session | null | undefined
  private readonly lock: LockFn | null
  private readonly onEnded?: (message: string) => void
  private readonly retryDelay: (failures: number) => number
  private readonly watchBrowser: boolean
  private unwatch: (() => void) | null = null

  constructor(opts: TokenManagerOptions) {
    this.sessionValue = opts.session
    this.fetchImpl = opts.fetch
    this.now = opts.now ?? (() => Date.now())
    this.save = opts.save ?? saveSession
    this.load = opts.load ?? loadStored
    this.lock = opts.lock === undefined ? browserLock() : opts.lock
    this.onEnded = opts.onEnded
    this.retryDelay = opts.retryDelay ?? ((n) => backoffDelay(n))
    this.watchBrowser = opts.watchBrowser ?? typeof window !== 'undefined'
  }

  get session(): Session {
    return this.sessionValue
  }

  get current(): string {
    return this.sessionValue.accessToken
  }

  get ended(): boolean {
    return this.endedMessage !== null
  }

  /** Starts the refresh timer (and, in a browser, watching other tabs). */
  start(): void {
    if (this.running) return
    this.running = true
    this.schedule()
    if (this.watchBrowser && !this.unwatch) this.unwatch = this.watch()
  }

  stop(): void {
    this.running = false
    this.clearTimer()
    this.unwatch?.()
    this.unwatch = null
  }

  /** Called after the access token changed (refresh, or another tab's refresh). */
  onRefresh(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The access token to send now: refreshed first when it is (about to be) expired. */
  async accessToken(): Promise<string> {
    if (this.endedMessage !== null) throw new SessionEndedError(this.endedMessage)
    if (this.expiringSoon()) {
      try {
        return await this.refresh()
      } catch (e) {
        if (e instanceof SessionEndedError) throw e
        // Can't refresh right now: let the server judge the token we have.
      }
    }
    return this.current
  }

  /** `rejected` was refused as expired: the new token (refreshing unless that happened already). */
  refreshAfter(rejected: string): Promise<string> {
    if (this.endedMessage !== null) return Promise.reject(new SessionEndedError(this.endedMessage))
    if (rejected !== this.current && !this.expiringSoon()) return Promise.resolve(this.current)
    return this.refresh(rejected)
  }

  /** Refreshes now; callers arriving meanwhile share the same refresh. */
  refresh(rejected?: string): Promise<string> {
    if (this.endedMessage !== null) return Promise.reject(new SessionEndedError(this.endedMessage))
    if (!this.inflight) {
      this.inflight = this.runRefresh(rejected ?? null).finally(() => {
        this.inflight = null
      })
    }
    return this.inflight
  }

  /**
   * Sign-out: revokes the refresh token (RFC 7009), which ends the whole
   * session on the server: both tokens and the device (so no /logout after
   * it, which would only get 401). False when the server has no revocation
   * endpoint: then the caller uses /logout.
   */
  async signOut(): Promise<boolean> {
    const endpoint = this.sessionValue.oauth?.revocationEndpoint
    if (!endpoint) return false
    this.stop()
    // A refresh under way rotates the refresh token: revoke the one it brings.
    if (this.inflight) await this.inflight.catch(() => undefined)
    this.endedMessage ??= 'Signed out.'
    const s = this.sessionValue
    if (s.refreshToken) await revokeToken(endpoint, s.refreshToken, 'refresh_token', this.fetchImpl)
    else await revokeToken(endpoint, s.accessToken, 'access_token', this.fetchImpl)
    return true
  }

  // ---- internals -------------------------------------------------------------

  private expiringSoon(): boolean {
    const at = this.sessionValue.expiresAt
    return at !== undefined && at - this.now() <= EXPIRY_SKEW_MS
  }

  private async runRefresh(rejected: string | null): Promise<string> {
    const s = this.sessionValue
    const work = () => this.refreshNow(rejected)
    try {
      const token = this.lock ? await this.lock(`hs.session.refresh ${s.userId} ${s.deviceId}`, work) : await work()
      this.failures = 0
      this.schedule()
      return token
    } catch (e) {
      if (e instanceof SessionEndedError) throw e
      if (e instanceof OAuthError && e.permanent) throw this.end(SESSION_ENDED_MESSAGE)
      // The server is unreachable or had a problem: try again a bit later.
      this.failures += 1
      this.scheduleIn(this.retryDelay(this.failures))
      if (e instanceof NetworkError) throw e
      throw new NetworkError("Can't refresh the session right now", { cause: e })
    }
  }

  /** Runs under the cross-tab lock. */
  private async refreshNow(rejected: string | null): Promise<string> {
    const stored = this.load()
    if (stored !== undefined) {
      if (!stored || !this.sameSession(stored)) throw this.end(OTHER_TAB_MESSAGE)
      if (stored.refreshToken && stored.refreshToken !== this.sessionValue.refreshToken) {
        // Another tab refreshed this session: its tokens are current, ours are used up.
        this.adopt(stored)
        if (stored.accessToken !== rejected && !this.expiringSoon()) return stored.accessToken
      }
    }
    const s = this.sessionValue
    if (!s.refreshToken || !s.oauth) throw this.end(SESSION_ENDED_MESSAGE)
    const issuedAt = this.now()
    const t = await tokenRequest(
      s.oauth.tokenEndpoint,
      { grant_type: 'refresh_token', refresh_token: s.refreshToken, client_id: s.oauth.clientId },
      this.fetchImpl,
    )
    const next: Session = {
      ...s,
      accessToken: t.access_token,
      refreshToken: t.refresh_token ?? s.refreshToken,
      expiresAt: t.expires_in !== undefined ? issuedAt + t.expires_in * 1000 : undefined,
    }
    // Signed out meanwhile (storage cleared here or in another tab): don't bring the session back.
    const after = this.load()
    if (after === null || (after !== undefined && !this.sameSession(after))) throw this.end(OTHER_TAB_MESSAGE)
    this.sessionValue = next
    this.save(next)
    this.notify()
    return next.accessToken
  }

  private sameSession(other: Session): boolean {
    return other.userId === this.sessionValue.userId && other.deviceId === this.sessionValue.deviceId
  }

  private adopt(stored: Session): void {
    if (stored.accessToken === this.sessionValue.accessToken && stored.refreshToken === this.sessionValue.refreshToken) return
    this.sessionValue = { ...this.sessionValue, ...stored }
    this.notify()
    this.schedule()
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (e) {
        console.error('token listener failed', e)
      }
    }
  }

  /** Ends the session (once): returns the error to throw. */
  private end(message: string): SessionEndedError {
    if (this.endedMessage === null) {
      this.endedMessage = message
      this.stop()
      this.onEnded?.(message)
    }
    return new SessionEndedError(this.endedMessage)
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    const at = this.sessionValue.expiresAt
    if (at === undefined || !this.sessionValue.refreshToken) {
      this.clearTimer()
      return
    }
    this.scheduleIn(refreshDelay(at, this.now()))
  }

  private scheduleIn(delayMs: number): void {
    this.clearTimer()
    if (!this.running || this.endedMessage !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.refresh().catch(() => undefined)
    }, Math.min(delayMs, MAX_TIMEOUT_MS))
  }

  private watch(): () => void {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== SESSION_KEY || this.endedMessage !== null) return
      const stored = this.load()
      if (stored === undefined) return
      if (!stored || !this.sameSession(stored)) {
        this.end(OTHER_TAB_MESSAGE)
        return
      }
      if (stored.refreshToken && stored.refreshToken !== this.sessionValue.refreshToken && !this.inflight) this.adopt(stored)
    }
    // Timers sleep with the computer: check when the page is looked at again.
    const onVisible = () => {
      if (document.visibilityState === 'visible' && this.expiringSoon() && this.endedMessage === null) {
        this.refresh().catch(() => undefined)
      }
    }
    window.addEventListener('storage', onStorage)
    document.addEventListener('visibilitychange', onVisible)
    return () => {
      window.removeEventListener('storage', onStorage)
      document.removeEventListener('visibilitychange', onVisible)
    }
  }
}
