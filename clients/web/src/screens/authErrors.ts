import { MatrixError, NetworkError, describeError } from '../api/errors'

/** Human message for a sign-in or sign-up failure. */
export function authErrorMessage(e: unknown, mode: 'login' | 'register'): string {
  if (e instanceof NetworkError) return "Can't reach the server. Check your connection and try again."
  if (e instanceof MatrixError) {
    switch (e.errcode) {
      case 'M_FORBIDDEN':
        return mode === 'login'
          ? 'Wrong username or password.'
          : e.message && e.message !== 'M_FORBIDDEN'
            ? e.message
            : 'Registration is not allowed on this server.'
      case 'M_USER_IN_USE':
        return 'That username is already taken. Please choose another one.'
      case 'M_INVALID_USERNAME':
        return 'That username is not valid. Use lowercase letters, digits and . _ = - / only.'
      case 'M_WEAK_PASSWORD':
        return 'That password is too weak. Please choose a longer one.'
      case 'M_USER_DEACTIVATED':
        return 'This account has been deactivated.'
      case 'M_LIMIT_EXCEEDED':
        return 'Too many attempts. Please wait a moment and try again.'
      case 'M_EXCLUSIVE':
        return 'That username is reserved. Please choose another one.'
    }
    if (e.httpStatus >= 500) return 'The server had a problem. Please try again later.'
  }
  return describeError(e)
}
