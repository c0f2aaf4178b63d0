/** The signed-in session, kept in localStorage so reloads stay signed in. */
export interface Session {
  userId: string
  accessToken: string
  deviceId: string
  /** '' = same origin as the page. */
  baseUrl: string
  /** OAuth sessions: the refresh token (rotated at every refresh). */
  refreshToken?: string
  /** OAuth sessions: when the access token expires (ms since the epoch). */
  expiresAt?: number
  /** OAuth sessions: where to refresh and revoke (from the server's metadata at sign-in). */
  oauth?: OAuthSessionInfo
}

export interface OAuthSessionInfo {
  issuer: string
  clientId: string
  tokenEndpoint: string
  revocationEndpoint?: string
  /** The server's page listing the user's sessions (`account_management_uri`). */
  accountUri?: string
}

export const SESSION_KEY = 'hs.session'
const KEY = SESSION_KEY

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null
  }
}

export function loadSession(): Session | null {
  const raw = storage()?.getItem(KEY)
  if (!raw) return null
  try {
    const s = JSON.parse(raw) as Partial<Session>
    if (typeof s.userId === 'string' && typeof s.accessToken === 'string' && typeof s.deviceId === 'string') {
      const session: Session = { userId: s.userId, accessToken: s.accessToken, deviceId: s.deviceId, baseUrl: s.baseUrl ?? '' }
      if (typeof s.refreshToken === 'string') session.refreshToken = s.refreshToken
      if (typeof s.expiresAt === 'number') session.expiresAt = s.expiresAt
      const o = s.oauth
      if (o && typeof o.issuer === 'string' && typeof o.clientId === 'string' && typeof o.tokenEndpoint === 'string') {
        session.oauth = {
          issuer: o.issuer,
          clientId: o.clientId,
          tokenEndpoint: o.tokenEndpoint,
          revocationEndpoint: typeof o.revocationEndpoint === 'string' ? o.revocationEndpoint : undefined,
          accountUri: typeof o.accountUri === 'string' ? o.accountUri : undefined,
        }
      }
      return session
    }
  } catch {
    /* fall through */
  }
  return null
}

export function saveSession(session: Session): void {
  storage()?.setItem(KEY, JSON.stringify(session))
}

export function clearSession(): void {
  storage()?.removeItem(KEY)
}
