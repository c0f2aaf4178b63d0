/** An error answered by the homeserver as `{errcode, error}` JSON (or a synthetic one). */
export class MatrixError extends Error {
  readonly errcode: string
  readonly httpStatus: number
  readonly data: Record<string, unknown>

  constructor(httpStatus: number, errcode: string, message: string, data: Record<string, unknown> = {}) {
    super(message || errcode)
    this.name = 'MatrixError'
    this.httpStatus = httpStatus
    this.errcode = errcode
    this.data = data
  }

  /** Delay the server asks for on M_LIMIT_EXCEEDED, if any. */
  get retryAfterMs(): number | undefined {
    const v = this.data.retry_after_ms
    return typeof v === 'number' ? v : undefined
  }
}

/** The server could not be reached at all (DNS, refused connection, offline, CORS...). */
export class NetworkError extends Error {
  constructor(message = 'Network request failed', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NetworkError'
  }
}

export function isMatrixError(e: unknown, errcode?: string): e is MatrixError {
  return e instanceof MatrixError && (errcode === undefined || e.errcode === errcode)
}

export function isAbortError(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    'name' in e &&
    (e as { name: unknown }).name === 'AbortError'
  )
}

/** True when the access token is no longer valid: the session must end. */
export function isAuthError(e: unknown): boolean {
  return isMatrixError(e, 'M_UNKNOWN_TOKEN') || isMatrixError(e, 'M_MISSING_TOKEN')
}

/**
 * The access token has expired but the session may go on: refresh it
 * (`M_UNKNOWN_TOKEN` with `soft_logout: true`).
 */
export function isSoftLogout(e: unknown): boolean {
  return isMatrixError(e, 'M_UNKNOWN_TOKEN') && e.data.soft_logout === true
}

/** A human sentence for an error, for showing in the UI. */
export function describeError(e: unknown): string {
  if (e instanceof NetworkError) return "Can't reach the server. Check your connection and try again."
  if (e instanceof MatrixError) {
    switch (e.errcode) {
      case 'M_FORBIDDEN':
        return e.message && e.message !== 'M_FORBIDDEN' ? e.message : 'You are not allowed to do that.'
      case 'M_LIMIT_EXCEEDED':
        return 'Too many requests. Please wait a moment and try again.'
      case 'M_TOO_LARGE':
        return 'The server refused it as too large (the limit for a message is 64 KB).'
      case 'M_NOT_FOUND':
        return e.message && e.message !== 'M_NOT_FOUND' ? e.message : 'Not found.'
      default:
        return e.message || e.errcode
    }
  }
  if (e instanceof Error) return e.message
  return String(e)
}
