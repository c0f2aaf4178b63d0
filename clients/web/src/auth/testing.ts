import type { FetchLike } from '../api/client'
import type { AuthMetadata } from './metadata'
import type { KeyValueStorage } from './oauth'

/** An in-memory sessionStorage. */
export function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>()
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  }
}

export const META: AuthMetadata = {
  issuer: 'http://hs.test',
  authorization_endpoint: 'http://hs.test/oauth2/authorize',
  token_endpoint: 'http://hs.test/oauth2/token',
  revocation_endpoint: 'http://hs.test/oauth2/revoke',
  account_management_uri: 'http://hs.test/oauth2/account',
  response_types_supported: ['code'],
  response_modes_supported: ['query', 'fragment'],
  grant_types_supported: ['authorization_code', 'refresh_token'],
  code_challenge_methods_supported: ['S256'],
  prompt_values_supported: ['create'],
}

export interface Recorded {
  url: string
  method: string
  headers: Record<string, string>
  /** Form fields (form-encoded requests) or parsed JSON. */
  form: Record<string, string>
  json: unknown
}

export type Responder = (req: Recorded) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>

/** A fetch answering from `respond`; a responder that throws acts as an unreachable server. */
export function scriptedFetch(respond: Responder): { fetch: FetchLike; calls: Recorded[] } {
  const calls: Recorded[] = []
  const fetch: FetchLike = async (url, init) => {
    const headers = (init?.headers ?? {}) as Record<string, string>
    const body = typeof init?.body === 'string' ? init.body : ''
    const isForm = headers['Content-Type'] === 'application/x-www-form-urlencoded'
    const req: Recorded = {
      url,
      method: init?.method ?? 'GET',
      headers,
      form: isForm ? Object.fromEntries(new URLSearchParams(body)) : {},
      json: !isForm && body ? JSON.parse(body) : undefined,
    }
    calls.push(req)
    const r = await respond(req)
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), { status: r.status })
  }
  return { fetch, calls }
}
