import type { FetchLike } from '../api/client'
import { MatrixError, NetworkError, isAbortError } from '../api/errors'

/** The parts of the authorization server metadata (RFC 8414) this client uses. */
export interface AuthMetadata {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  revocation_endpoint?: string
  account_management_uri?: string
  response_types_supported?: string[]
  response_modes_supported?: string[]
  grant_types_supported?: string[]
  code_challenge_methods_supported?: string[]
  prompt_values_supported?: string[]
}

export const AUTH_METADATA_PATH = '/_matrix/client/v1/auth_metadata'

/** The server's metadata is there but this client can't sign in with it. */
export class UnusableMetadataError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnusableMetadataError'
  }
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined
}

function url(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new UnusableMetadataError(`The server's sign-in settings have no ${what}.`)
  try {
    new URL(v)
    return v
  } catch {
    throw new UnusableMetadataError(`The server's sign-in settings have an invalid ${what}.`)
  }
}

/** Checks a metadata document has what the authorization code + PKCE flow needs. */
export function parseMetadata(raw: unknown): AuthMetadata {
  if (!raw || typeof raw !== 'object') throw new UnusableMetadataError("The server's sign-in settings are not valid.")
  const m = raw as Record<string, unknown>
  const meta: AuthMetadata = {
    issuer: url(m.issuer, 'issuer'),
    authorization_endpoint: url(m.authorization_endpoint, 'authorization endpoint'),
    token_endpoint: url(m.token_endpoint, 'token endpoint'),
    revocation_endpoint: typeof m.revocation_endpoint === 'string' ? url(m.revocation_endpoint, 'revocation endpoint') : undefined,
    account_management_uri:
      typeof m.account_management_uri === 'string' ? url(m.account_management_uri, 'account page') : undefined,
    response_types_supported: strings(m.response_types_supported),
    response_modes_supported: strings(m.response_modes_supported),
    grant_types_supported: strings(m.grant_types_supported),
    code_challenge_methods_supported: strings(m.code_challenge_methods_supported),
    prompt_values_supported: strings(m.prompt_values_supported),
  }
  if (meta.response_types_supported && !meta.response_types_supported.includes('code')) {
    throw new UnusableMetadataError('The server does not offer the authorization code flow.')
  }
  if (meta.code_challenge_methods_supported && !meta.code_challenge_methods_supported.includes('S256')) {
    throw new UnusableMetadataError('The server does not support PKCE with S256.')
  }
  if (meta.grant_types_supported && !meta.grant_types_supported.includes('authorization_code')) {
    throw new UnusableMetadataError('The server does not offer the authorization code flow.')
  }
  return meta
}

/**
 * `GET /_matrix/client/v1/auth_metadata`. Resolves to null when the server
 * answers 404 (OAuth 2.0 is off: sign in with a password). Throws
 * {@link NetworkError} when the server can't be reached, {@link MatrixError}
 * for other error answers, {@link UnusableMetadataError} for a document this
 * client can't use.
 */
export async function discoverAuth(baseUrl = '', fetchImpl?: FetchLike): Promise<AuthMetadata | null> {
  const doFetch: FetchLike = fetchImpl ?? ((input, init) => globalThis.fetch(input, init))
  let response: Response
  try {
    // no-store: a server that just switched OAuth on or off is believed at once.
    response = await doFetch(baseUrl.replace(/\/+$/, '') + AUTH_METADATA_PATH, {
      headers: { Accept: 'application/json' },
      cache: 'no-store',
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
  if (response.status === 404) return null
  if (!response.ok) {
    if (data === undefined && response.status >= 502 && response.status <= 504) {
      throw new NetworkError(`Server unavailable (${response.status})`)
    }
    const obj = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>
    throw new MatrixError(
      response.status,
      typeof obj.errcode === 'string' ? obj.errcode : 'M_UNKNOWN',
      typeof obj.error === 'string' ? obj.error : `${response.status} ${response.statusText}`.trim(),
      obj,
    )
  }
  return parseMetadata(data)
}

/** The Matrix account management actions the app links to. */
export type AccountAction = 'org.matrix.devices_list' | 'org.matrix.account_deactivate'

/** The account page opened at an action (`?action=`, keeping any query it has). */
export function accountActionUrl(accountUri: string, action: AccountAction): string {
  const url = new URL(accountUri, globalThis.location?.href)
  url.searchParams.set('action', action)
  return url.href
}
