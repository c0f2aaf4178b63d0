/**
 * Signing in with the homeserver's own OAuth 2.0 authorization server (the
 * Matrix OAuth 2.0 API; README "Signing in"): authorization code + PKCE
 * (S256) as the first-party public client `web-client`, redirect URI on the
 * page's own origin, scope `urn:matrix:client:api:*` plus a new device.
 *
 *   authorizationUrl()  draws state, code verifier and device id, keeps them
 *                       in sessionStorage (by state) and builds the URL of the
 *                       server's sign-in page;
 *   parseAuthorizationResponse()  recognises the redirect back (query or fragment);
 *   completeAuthorization()       checks state (one use), exchanges the code,
 *                       asks whoami, and returns the session to store.
 */
import { MatrixClient, type FetchLike } from '../api/client'
import { MatrixError, NetworkError, isAbortError } from '../api/errors'
import type { Session } from '../api/session'
import type { AuthMetadata } from './metadata'
import { codeChallengeS256, newCodeVerifier, newDeviceId, newState } from './pkce'

export const WEB_CLIENT_ID = 'web-client'
export const API_SCOPE = 'urn:matrix:client:api:*'
export const DEVICE_SCOPE_PREFIX = 'urn:matrix:client:device:'

/** What a started authorization needs when the browser comes back. */
export interface PendingAuthorization {
  state: string
  codeVerifier: string
  deviceId: string
  redirectUri: string
  issuer: string
  tokenEndpoint: string
  revocationEndpoint?: string
  accountUri?: string
  createdAt: number
}

/** The subset of the Web Storage API used here (sessionStorage in the browser). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

const PENDING_KEY = 'hs.oauth.pending'
/** A sign-in page left open longer than this is not accepted back. */
export const PENDING_LIFETIME_MS = 60 * 60 * 1000

export function sessionStore(): KeyValueStorage | null {
  try {
    return globalThis.sessionStorage ?? null
  } catch {
    return null
  }
}

function readPending(storage: KeyValueStorage, now: number): Record<string, PendingAuthorization> {
  let all: Record<string, PendingAuthorization> = {}
  try {
    const raw = storage.getItem(PENDING_KEY)
    const parsed: unknown = raw ? JSON.parse(raw) : {}
    if (parsed && typeof parsed === 'object') all = parsed as Record<string, PendingAuthorization>
  } catch {
    all = {}
  }
  const live: Record<string, PendingAuthorization> = {}
  for (const [state, p] of Object.entries(all)) {
    if (p && typeof p === 'object' && typeof p.createdAt === 'number' && now - p.createdAt < PENDING_LIFETIME_MS) {
      live[state] = p
    }
  }
  return live
}

function writePending(storage: KeyValueStorage, all: Record<string, PendingAuthorization>): void {
  if (Object.keys(all).length === 0) storage.removeItem(PENDING_KEY)
  else storage.setItem(PENDING_KEY, JSON.stringify(all))
}

export function savePending(pending: PendingAuthorization, storage: KeyValueStorage, now = Date.now()): void {
  const all = readPending(storage, now)
  all[pending.state] = pending
  writePending(storage, all)
}

/** The pending authorization for `state`, removed so it can be used only once. */
export function takePending(state: string, storage: KeyValueStorage, now = Date.now()): PendingAuthorization | null {
  const all = readPending(storage, now)
  const found = Object.hasOwn(all, state) ? all[state] : null
  delete all[state]
  writePending(storage, all)
  return found
}

/** Our redirect URI: the app's own root (the server accepts any URI on its origin for `web-client`). */
export function redirectUriFor(location: { origin: string }): string {
  return `${location.origin}/`
}

/**
 * `fragment` for https redirect URIs (the code then never reaches a server
 * log), `query` otherwise, as the server's README asks; limited to what the
 * metadata offers (RFC 8414's default is both).
 */
export function chooseResponseMode(meta: AuthMetadata, redirectUri: string): 'query' | 'fragment' {
  const modes = meta.response_modes_supported ?? ['query', 'fragment']
  const preferred = redirectUri.startsWith('https:') ? 'fragment' : 'query'
  if (modes.includes(preferred)) return preferred
  return preferred === 'fragment' ? 'query' : 'fragment'
}

export interface AuthorizationOptions {
  redirectUri: string
  /** `create`: the server shows its account creation page instead of the sign-in page. */
  prompt?: 'create'
  storage?: KeyValueStorage | null
  now?: number
}

/** Starts a sign-in: remembers state + verifier + device, returns the URL to send the browser to. */
export async function authorizationUrl(meta: AuthMetadata, opts: AuthorizationOptions): Promise<string> {
  const storage = opts.storage === undefined ? sessionStore() : opts.storage
  if (!storage) throw new Error('This browser blocks the storage signing in needs. Allow site data and try again.')
  const codeVerifier = newCodeVerifier()
  const pending: PendingAuthorization = {
    state: newState(),
    codeVerifier,
    deviceId: newDeviceId(),
    redirectUri: opts.redirectUri,
    issuer: meta.issuer,
    tokenEndpoint: meta.token_endpoint,
    revocationEndpoint: meta.revocation_endpoint,
    accountUri: meta.account_management_uri,
    createdAt: opts.now ?? Date.now(),
  }
  const url = new URL(meta.authorization_endpoint)
  const params: [string, string][] = [
    ['response_type', 'code'],
    ['client_id', WEB_CLIENT_ID],
    ['redirect_uri', pending.redirectUri],
    ['scope', `${API_SCOPE} ${DEVICE_SCOPE_PREFIX}${pending.deviceId}`],
    ['state', pending.state],
    ['response_mode', chooseResponseMode(meta, pending.redirectUri)],
    ['code_challenge', await codeChallengeS256(codeVerifier)],
    ['code_challenge_method', 'S256'],
  ]
  if (opts.prompt) params.push(['prompt', opts.prompt])
  for (const [k, v] of params) url.searchParams.set(k, v)
  savePending(pending, storage, pending.createdAt)
  return url.href
}

// ---- coming back -------------------------------------------------------------

export interface AuthorizationResponse {
  state: string
  code?: string
  error?: string
  errorDescription?: string
  /** RFC 9207 issuer identification, when the server sends it. */
  iss?: string
}

const RESPONSE_PARAMS = ['code', 'state', 'error', 'error_description', 'error_uri', 'iss']

function responseFrom(params: URLSearchParams): AuthorizationResponse | null {
  const state = params.get('state')
  const code = params.get('code')
  const error = params.get('error')
  if (state === null || (code === null && error === null)) return null
  return {
    state,
    code: code ?? undefined,
    error: error ?? undefined,
    errorDescription: params.get('error_description') ?? undefined,
    iss: params.get('iss') ?? undefined,
  }
}

/**
 * The authorization response in `href` (query, or a fragment that is not a
 * `#/...` app route), and the same URL without it. Null when `href` is not
 * a redirect back from the authorization server.
 */
export function parseAuthorizationResponse(href: string): { response: AuthorizationResponse; cleanUrl: string } | null {
  const url = new URL(href)
  const fromQuery = responseFrom(url.searchParams)
  if (fromQuery) {
    for (const k of RESPONSE_PARAMS) url.searchParams.delete(k)
    return { response: fromQuery, cleanUrl: url.pathname + url.search + url.hash }
  }
  if (url.hash.length > 1 && !url.hash.startsWith('#/')) {
    const fromFragment = responseFrom(new URLSearchParams(url.hash.slice(1)))
    if (fromFragment) return { response: fromFragment, cleanUrl: url.pathname + url.search }
  }
  return null
}

/** The sign-in could not be completed; `message` is for people. */
export class SignInError extends Error {
  /** An OAuth error code (`access_denied`, `invalid_grant`, ...) or `state_mismatch`, `invalid_response`. */
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SignInError'
    this.code = code
  }
}

/** An error answer of the token or revocation endpoint (RFC 6749 section 5.2). */
export class OAuthError extends Error {
  readonly status: number
  readonly error: string
  readonly description?: string
  constructor(status: number, error: string, description?: string) {
    super(description ? `${error}: ${description}` : error)
    this.name = 'OAuthError'
    this.status = status
    this.error = error
    this.description = description
  }

  /** The grant can't ever work again (revoked, reused, expired...): as opposed to a passing server problem. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429
  }
}

export interface TokenResponse {
  access_token: string
  refresh_token?: string
  /** Seconds. */
  expires_in?: number
  token_type?: string
  scope?: string
}

async function postForm(fetchImpl: FetchLike, endpoint: string, params: Record<string, string>): Promise<{ status: number; data: unknown }> {
  let response: Response
  try {
    response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(params).toString(),
      cache: 'no-store',
      credentials: 'omit',
    })
  } catch (e) {
    if (isAbortError(e)) throw e
    throw new NetworkError("Can't reach the server", { cause: e })
  }
  let data: unknown
  try {
    data = await response.json()
  } catch {
    data = undefined
  }
  if (!response.ok) {
    const obj = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>
    if (typeof obj.error !== 'string' && response.status >= 502 && response.status <= 504) {
      throw new NetworkError(`Server unavailable (${response.status})`)
    }
    throw new OAuthError(
      response.status,
      typeof obj.error === 'string' ? obj.error : response.status >= 500 ? 'server_error' : 'invalid_request',
      typeof obj.error_description === 'string' ? obj.error_description : undefined,
    )
  }
  return { status: response.status, data }
}

function defaultFetch(fetchImpl?: FetchLike): FetchLike {
  return fetchImpl ?? ((input, init) => globalThis.fetch(input, init))
}

/** POST to the token endpoint (code exchange or refresh). */
export async function tokenRequest(endpoint: string, params: Record<string, string>, fetchImpl?: FetchLike): Promise<TokenResponse> {
  const { data } = await postForm(defaultFetch(fetchImpl), endpoint, params)
  const t = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>
  if (typeof t.access_token !== 'string' || !t.access_token) {
    throw new OAuthError(200, 'invalid_response', 'The token endpoint answered without an access token')
  }
  return {
    access_token: t.access_token,
    refresh_token: typeof t.refresh_token === 'string' ? t.refresh_token : undefined,
    expires_in: typeof t.expires_in === 'number' && t.expires_in > 0 ? t.expires_in : undefined,
    token_type: typeof t.token_type === 'string' ? t.token_type : undefined,
    scope: typeof t.scope === 'string' ? t.scope : undefined,
  }
}

/** RFC 7009: revokes `token` (the server ends the whole session, both tokens and the device). */
export async function revokeToken(
  endpoint: string,
  token: string,
  hint: 'refresh_token' | 'access_token',
  fetchImpl?: FetchLike,
): Promise<void> {
  await postForm(defaultFetch(fetchImpl), endpoint, { token, token_type_hint: hint, client_id: WEB_CLIENT_ID })
}

export interface CompleteOptions {
  storage?: KeyValueStorage | null
  fetch?: FetchLike
  now?: () => number
  /** Homeserver base URL for the Matrix API ('' = this origin). */
  baseUrl?: string
}

/**
 * Finishes a sign-in: the state must be one we issued (and is used up), the
 * code is exchanged with its verifier, and whoami tells whose session it is.
 */
export async function completeAuthorization(response: AuthorizationResponse, opts: CompleteOptions = {}): Promise<Session> {
  const now = opts.now ?? (() => Date.now())
  const storage = opts.storage === undefined ? sessionStore() : opts.storage
  const pending = storage ? takePending(response.state, storage, now()) : null
  if (!pending) {
    throw new SignInError(
      'state_mismatch',
      "This sign-in wasn't started in this tab, or it took too long. Please sign in again.",
    )
  }
  if (response.iss !== undefined && response.iss !== pending.issuer) {
    throw new SignInError('invalid_response', 'The sign-in answer came from an unexpected server. Please sign in again.')
  }
  if (response.error) throw new SignInError(response.error, authorizationErrorMessage(response.error, response.errorDescription))
  if (!response.code) throw new SignInError('invalid_response', 'The server sent back no sign-in code. Please sign in again.')

  const issuedAt = now()
  const tokens = await tokenRequest(
    pending.tokenEndpoint,
    {
      grant_type: 'authorization_code',
      code: response.code,
      redirect_uri: pending.redirectUri,
      client_id: WEB_CLIENT_ID,
      code_verifier: pending.codeVerifier,
    },
    opts.fetch,
  )
  const revokeQuietly = () => {
    if (pending.revocationEndpoint) {
      const t = tokens.refresh_token ?? tokens.access_token
      void revokeToken(pending.revocationEndpoint, t, tokens.refresh_token ? 'refresh_token' : 'access_token', opts.fetch).catch(
        () => undefined,
      )
    }
  }
  if (tokens.scope !== undefined && !tokens.scope.split(' ').includes(DEVICE_SCOPE_PREFIX + pending.deviceId)) {
    revokeQuietly()
    throw new SignInError('invalid_scope', 'The server granted a different session than the one asked for. Please sign in again.')
  }
  let who: { user_id?: unknown; device_id?: unknown }
  try {
    const client = new MatrixClient({ baseUrl: opts.baseUrl ?? '', accessToken: tokens.access_token, fetch: opts.fetch })
    who = await client.request('GET', '/account/whoami')
  } catch (e) {
    revokeQuietly()
    throw e
  }
  if (typeof who.user_id !== 'string') {
    revokeQuietly()
    throw new SignInError('invalid_response', 'The server did not say who signed in. Please try again.')
  }
  return {
    userId: who.user_id,
    deviceId: typeof who.device_id === 'string' ? who.device_id : pending.deviceId,
    accessToken: tokens.access_token,
    baseUrl: opts.baseUrl ?? '',
    refreshToken: tokens.refresh_token,
    expiresAt: tokens.expires_in !== undefined ? issuedAt + tokens.expires_in * 1000 : undefined,
    oauth: {
      issuer: pending.issuer,
      clientId: WEB_CLIENT_ID,
      tokenEndpoint: pending.tokenEndpoint,
      revocationEndpoint: pending.revocationEndpoint,
      accountUri: pending.accountUri,
    },
  }
}

/** People's words for an `error` sent back to the redirect URI (RFC 6749 section 4.1.2.1). */
export function authorizationErrorMessage(error: string, description?: string): string {
  switch (error) {
    case 'access_denied':
      return 'Sign-in was cancelled.'
    case 'temporarily_unavailable':
    case 'server_error':
      return 'The server had a problem signing you in. Please try again in a moment.'
    case 'login_required':
    case 'interaction_required':
      return 'Please sign in again.'
    default:
      return description ? `Sign-in failed: ${description}` : `Sign-in failed (${error}). Please try again.`
  }
}

/** People's words for anything that went wrong starting or finishing a sign-in. */
export function signInErrorMessage(e: unknown): string {
  if (e instanceof NetworkError) return "Can't reach the server. Check your connection and try again."
  if (e instanceof SignInError) return e.message
  if (e instanceof OAuthError) {
    if (e.error === 'invalid_grant') return 'This sign-in has expired or was already used. Please sign in again.'
    if (e.status >= 500 || e.error === 'server_error' || e.error === 'temporarily_unavailable') {
      return 'The server had a problem signing you in. Please try again in a moment.'
    }
    return `Sign-in failed: ${e.description ?? e.error}`
  }
  if (e instanceof MatrixError) {
    if (e.httpStatus >= 500) return 'The server had a problem signing you in. Please try again in a moment.'
    return `Sign-in failed: ${e.message}`
  }
  if (e instanceof Error) return e.message
  return String(e)
}
