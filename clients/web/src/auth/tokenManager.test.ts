import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MatrixClient, type FetchLike } from '../api/client'
import { isAuthError, MatrixError, NetworkError } from '../api/errors'
import type { Session } from '../api/session'
import { META, scriptedFetch, type Recorded } from './testing'
import { refreshDelay, SESSION_ENDED_MESSAGE, SessionEndedError, TokenManager, type TokenManagerOptions } from './tokenManager'

const T0 = 1_000_000

function session(over: Partial<Session> = {}): Session {
  return {
    userId: '@ana:hs.test',
    deviceId: 'DEV',
    accessToken: 'at0',
    refreshToken: 'rt0',
    expiresAt: T0 + 300_000,
    baseUrl: '',
    oauth: { issuer: META.issuer, clientId: 'web-client', tokenEndpoint: META.token_endpoint, revocationEndpoint: META.revocation_endpoint },
    ...over,
  }
}

const expired = { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown or expired access token', soft_logout: true } }

/**
 * A homeserver: the token endpoint rotates tokens (at1/rt1, at2/rt2, ...);
 * API calls accept only the latest access token and answer soft logout otherwise.
 */
function homeserver(
  opts: {
    refresh?: (req: Recorded) => { status: number; body?: unknown } | undefined
    gate?: Promise<void>
    /** The access token the server accepts at first (default at0). */
    valid?: string
  } = {},
) {
  let n = 0
  let valid = opts.valid ?? 'at0'
  const revoked: Recorded[] = []
  const scripted = scriptedFetch(async (req) => {
    if (req.url === META.token_endpoint) {
      await opts.gate
      const custom = opts.refresh?.(req)
      if (custom) return custom
      n += 1
      valid = `at${n}`
      return { status: 200, body: { access_token: valid, refresh_token: `rt${n}`, expires_in: 300, token_type: 'Bearer' } }
    }
    if (req.url === META.revocation_endpoint) {
      revoked.push(req)
      return { status: 200, body: {} }
    }
    if (req.headers.Authorization !== `Bearer ${valid}`) return expired
    return { status: 200, body: { ok: req.url } }
  })
  return { ...scripted, revoked, refreshes: () => scripted.calls.filter((c) => c.url === META.token_endpoint) }
}

function memoryStore(initial: Session | null) {
  let stored: Session | null = initial
  return {
    load: () => stored,
    save: (s: Session) => {
      stored = s
    },
    set: (s: Session | null) => {
      stored = s
    },
    get: () => stored,
  }
}

function manager(fetch: FetchLike, over: Partial<TokenManagerOptions> = {}) {
  const store = memoryStore(over.session ?? session())
  const ended: string[] = []
  const tokens = new TokenManager({
    session: session(),
    fetch,
    load: store.load,
    save: store.save,
    lock: null,
    watchBrowser: false,
    onEnded: (m) => ended.push(m),
    ...over,
  })
  return { tokens, store, ended }
}

describe('refreshDelay', () => {
  it('refreshes at 80% of the remaining lifetime, at most a minute before expiry', () => {
    expect(refreshDelay(T0 + 300_000, T0)).toBe(240_000)
    expect(refreshDelay(T0 + 3_600_000, T0)).toBe(3_540_000)
    expect(refreshDelay(T0 + 10_000, T0)).toBe(8_000)
    expect(refreshDelay(T0 - 1, T0)).toBe(0)
  })
})

describe('TokenManager', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('refreshes once for concurrent requests refused as expired, and retries each request once', async () => {
    const hs = homeserver({ valid: 'none yet' }) // at0 has expired
    const { tokens, store } = manager(hs.fetch)
    const client = new MatrixClient({ fetch: hs.fetch, tokens })
    const results = await Promise.all([client.request('GET', '/a'), client.request('GET', '/b'), client.request('GET', '/c')])
    expect(results).toEqual([{ ok: '/_matrix/client/v3/a' }, { ok: '/_matrix/client/v3/b' }, { ok: '/_matrix/client/v3/c' }])
    // Three refused, one refresh (with the refresh token), three retries with the new token.
    expect(hs.refreshes()).toHaveLength(1)
    expect(hs.refreshes()[0].form).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt0', client_id: 'web-client' })
    const api = hs.calls.filter((c) => c.url !== META.token_endpoint)
    expect(api.map((c) => c.headers.Authorization)).toEqual([
      'Bearer at0',
      'Bearer at0',
      'Bearer at0',
      'Bearer at1',
      'Bearer at1',
      'Bearer at1',
    ])
    expect(client.accessToken).toBe('at1')
    expect(store.get()).toMatchObject({ accessToken: 'at1', refreshToken: 'rt1', expiresAt: T0 + 300_000 })
  })

  it('retries only once, and never after a hard 401 (revoked session)', async () => {
    const { fetch, calls } = scriptedFetch((req) =>
      req.url === META.token_endpoint
        ? { status: 200, body: { access_token: 'new', refresh_token: 'rt', expires_in: 300 } }
        : req.url.endsWith('/expired')
          ? expired
          : { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'revoked', soft_logout: false } },
    )
    const { tokens } = manager(fetch)
    const client = new MatrixClient({ fetch, tokens })
    const e1 = await client.request('GET', '/expired').catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(MatrixError)
    expect(calls.map((c) => c.url.replace('/_matrix/client/v3', ''))).toEqual(['/expired', META.token_endpoint, '/expired'])
    calls.length = 0
    const e2 = await client.request('GET', '/revoked').catch((e: unknown) => e)
    expect(isAuthError(e2)).toBe(true)
    expect(calls.map((c) => c.url)).toEqual(['/_matrix/client/v3/revoked'])
  })

  it('refreshes a token about to expire before sending it', async () => {
    const hs = homeserver()
    const { tokens } = manager(hs.fetch, { session: session({ expiresAt: T0 + 2_000 }) })
    await new MatrixClient({ fetch: hs.fetch, tokens }).request('GET', '/x')
    expect(hs.calls.map((c) => c.url)).toEqual([META.token_endpoint, '/_matrix/client/v3/x'])
    expect(hs.calls[1].headers.Authorization).toBe('Bearer at1')
  })

  it('schedules the refresh before expiry, and the next one after each refresh', async () => {
    const hs = homeserver()
    const { tokens } = manager(hs.fetch)
    const refreshed: string[] = []
    tokens.onRefresh(() => refreshed.push(tokens.current))
    tokens.start()
    await vi.advanceTimersByTimeAsync(239_000)
    expect(hs.refreshes()).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(hs.refreshes()).toHaveLength(1)
    expect(refreshed).toEqual(['at1'])
    expect(tokens.session.expiresAt).toBe(T0 + 240_000 + 300_000)
    await vi.advanceTimersByTimeAsync(240_000)
    expect(hs.refreshes()).toHaveLength(2)
    expect(refreshed).toEqual(['at1', 'at2'])
    tokens.stop()
    await vi.advanceTimersByTimeAsync(1_000_000)
    expect(hs.refreshes()).toHaveLength(2)
  })

  it('retries a refresh that failed for network reasons, without ending the session', async () => {
    let down = true
    const hs = homeserver({
      refresh: () => {
        if (down) throw new TypeError('Failed to fetch')
        return undefined
      },
    })
    const { tokens, ended } = manager(hs.fetch, { retryDelay: () => 5_000 })
    tokens.start()
    await vi.advanceTimersByTimeAsync(240_000)
    expect(hs.refreshes()).toHaveLength(1)
    await expect(tokens.refreshAfter('at0')).rejects.toBeInstanceOf(NetworkError)
    expect(ended).toEqual([])
    down = false
    await vi.advanceTimersByTimeAsync(5_000)
    expect(tokens.current).toBe('at1')
    expect(ended).toEqual([])
  })

  it('signs out locally when the refresh token is refused (revoked or reused)', async () => {
    const hs = homeserver({ refresh: () => ({ status: 400, body: { error: 'invalid_grant' } }) })
    const { tokens, ended } = manager(hs.fetch)
    const client = new MatrixClient({ fetch: hs.fetch, tokens })
    tokens.start()
    await vi.advanceTimersByTimeAsync(240_000)
    expect(ended).toEqual([SESSION_ENDED_MESSAGE])
    // Every later call fails as a hard logout, without asking the server again.
    hs.calls.length = 0
    const e = await client.request('GET', '/x').catch((err: unknown) => err)
    expect(e).toBeInstanceOf(SessionEndedError)
    expect(isAuthError(e)).toBe(true)
    await expect(tokens.refreshAfter('at0')).rejects.toBeInstanceOf(SessionEndedError)
    expect(hs.calls).toEqual([])
    expect(ended).toHaveLength(1)
  })

  it('ends the session when a request finds it expired and the refresh is refused', async () => {
    const hs = homeserver({ valid: 'none yet', refresh: () => ({ status: 400, body: { error: 'invalid_grant' } }) })
    const { tokens, ended } = manager(hs.fetch)
    const client = new MatrixClient({ fetch: hs.fetch, tokens })
    const [a, b] = await Promise.all([client.request('GET', '/a').catch((e: unknown) => e), client.request('GET', '/b').catch((e: unknown) => e)])
    expect(a).toBeInstanceOf(SessionEndedError)
    expect(b).toBeInstanceOf(SessionEndedError)
    expect(hs.refreshes()).toHaveLength(1)
    expect(ended).toEqual([SESSION_ENDED_MESSAGE])
  })

  it('sign-out revokes the refresh token (which ends the session and its device), once a refresh under way is done', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const hs = homeserver({ gate })
    const { tokens } = manager(hs.fetch)
    const client = new MatrixClient({ fetch: hs.fetch, tokens })
    const refreshing = tokens.refresh()
    const signingOut = client.logout()
    await vi.advanceTimersByTimeAsync(0)
    expect(hs.revoked).toEqual([])
    release()
    await refreshing
    await signingOut
    expect(hs.revoked).toHaveLength(1)
    expect(hs.revoked[0].form).toEqual({ token: 'rt1', token_type_hint: 'refresh_token', client_id: 'web-client' })
    // No /logout afterwards: revocation removed the device (the call would only get 401).
    expect(hs.calls.some((c) => c.url.endsWith('/logout'))).toBe(false)
    await expect(tokens.accessToken()).rejects.toBeInstanceOf(SessionEndedError)
  })

  it('falls back to /logout when the server has no revocation endpoint', async () => {
    const hs = homeserver()
    const s = session({ oauth: { ...session().oauth!, revocationEndpoint: undefined } })
    const { tokens } = manager(hs.fetch, { session: s })
    await new MatrixClient({ fetch: hs.fetch, tokens }).logout()
    expect(hs.calls.map((c) => c.url)).toEqual(['/_matrix/client/v3/logout'])
    expect(hs.calls[0].headers.Authorization).toBe('Bearer at0')
  })

  it("takes another tab's refresh instead of presenting a used refresh token", async () => {
    const hs = homeserver()
    const { tokens, store } = manager(hs.fetch)
    // The other tab refreshed: storage holds at5/rt5.
    store.set(session({ accessToken: 'at5', refreshToken: 'rt5', expiresAt: T0 + 300_000 }))
    expect(await tokens.refreshAfter('at0')).toBe('at5')
    expect(hs.refreshes()).toHaveLength(0)
    // When that token is refused too, the refresh uses the other tab's refresh token.
    expect(await tokens.refreshAfter('at5')).toBe('at1')
    expect(hs.refreshes()[0].form.refresh_token).toBe('rt5')
  })

  it('ends when the stored session is gone (signed out in another tab) instead of bringing it back', async () => {
    const hs = homeserver()
    const { tokens, store, ended } = manager(hs.fetch)
    store.set(null)
    await expect(tokens.refresh()).rejects.toBeInstanceOf(SessionEndedError)
    expect(hs.refreshes()).toHaveLength(0)
    expect(store.get()).toBeNull()
    expect(ended).toHaveLength(1)
  })

  it('serialises refreshes through the cross-tab lock', async () => {
    const hs = homeserver()
    const names: string[] = []
    const { tokens } = manager(hs.fetch, {
      lock: async (name, fn) => {
        names.push(name)
        return fn()
      },
    })
    await tokens.refresh()
    expect(names).toEqual(['hs.session.refresh @ana:hs.test DEV'])
  })
})
