/** The signed-in session, kept in localStorage so reloads stay signed in. */
export interface Session {
  userId: string
  accessToken: string
  deviceId: string
  /** '' = same origin as the page. */
  baseUrl: string
}

const KEY = 'hs.session'

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
      return { userId: s.userId, accessToken: s.accessToken, deviceId: s.deviceId, baseUrl: s.baseUrl ?? '' }
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
