import { describe, expect, it } from 'vitest'
import { base64UrlToBytes, bytesToBase64Url } from './base64url'

// A VAPID public key as the server publishes it (uncompressed P-256 point, 65 bytes, no padding).
const VAPID = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM'

describe('base64url', () => {
  it('decodes a VAPID key into the 65 bytes of an uncompressed point', () => {
    const bytes = base64UrlToBytes(VAPID)
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes.length).toBe(65)
    expect(bytes[0]).toBe(4)
    expect(bytesToBase64Url(bytes)).toBe(VAPID)
  })

  it('handles the url-safe alphabet, missing and present padding', () => {
    expect([...base64UrlToBytes('-_8')]).toEqual([0xfb, 0xff])
    expect([...base64UrlToBytes('-_8=')]).toEqual([0xfb, 0xff])
    expect([...base64UrlToBytes('AQ')]).toEqual([1])
    expect([...base64UrlToBytes('')]).toEqual([])
    expect(bytesToBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8')
    expect(bytesToBase64Url(new Uint8Array([1]).buffer)).toBe('AQ')
  })

  it('round-trips every byte value, from views and buffers', () => {
    const all = new Uint8Array(256).map((_, i) => i)
    expect(base64UrlToBytes(bytesToBase64Url(all))).toEqual(all)
    const view = new Uint8Array(all.buffer, 10, 16)
    expect(base64UrlToBytes(bytesToBase64Url(view))).toEqual(all.slice(10, 26))
  })

  it('refuses standard base64 and garbage', () => {
    expect(() => base64UrlToBytes('+/8')).toThrow()
    expect(() => base64UrlToBytes('abc$')).toThrow()
    expect(() => base64UrlToBytes('A')).toThrow()
  })
})
