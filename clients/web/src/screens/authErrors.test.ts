import { describe, expect, it } from 'vitest'
import { MatrixError, NetworkError } from '../api/errors'
import { authErrorMessage } from './authErrors'

describe('authErrorMessage', () => {
  it('explains taken names, wrong passwords and unreachable servers', () => {
    expect(authErrorMessage(new MatrixError(400, 'M_USER_IN_USE', 'taken'), 'register')).toMatch(/already taken/)
    expect(authErrorMessage(new MatrixError(403, 'M_FORBIDDEN', 'Invalid password'), 'login')).toBe('Wrong username or password.')
    expect(authErrorMessage(new NetworkError(), 'login')).toMatch(/Can't reach the server/)
    expect(authErrorMessage(new MatrixError(400, 'M_INVALID_USERNAME', 'bad'), 'register')).toMatch(/not valid/)
  })
})
