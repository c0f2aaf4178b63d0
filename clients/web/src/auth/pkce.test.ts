import { describe, expect, it } from 'vitest'
import { base64url, codeChallengeS256, newCodeVerifier, newDeviceId, newState, randomString } from './pkce'

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    )
  })

  it('encodes base64url without padding', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe('-__-')
    expect(base64url(new Uint8Array([1]))).toBe('AQ')
  })

  it('draws verifiers of 64 unreserved characters, all different', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const v = newCodeVerifier()
      expect(v).toMatch(/^[A-Za-z0-9\-._~]{64}$/)
      seen.add(v)
    }
    expect(seen.size).toBe(50)
  })

  it('draws device ids the server accepts (10+ unreserved characters) and 128-bit states', () => {
    expect(newDeviceId()).toMatch(/^[A-Z0-9]{12}$/)
    expect(newState()).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(newState()).not.toBe(newState())
  })

  it('uses every character of the alphabet (no modulo bias dropping any)', () => {
    const s = randomString(3000, 'abc')
    expect(new Set(s)).toEqual(new Set(['a', 'b', 'c']))
    expect(s).toHaveLength(3000)
  })
})
