/**
 * Random values and PKCE (RFC 7636) for the OAuth 2.0 sign-in. Everything
 * random comes from `crypto.getRandomValues`; the S256 challenge from
 * `crypto.subtle` (available in secure contexts: https, or loopback http).
 */

/** RFC 3986 "unreserved" characters: what a code verifier and a Matrix device id may use. */
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  globalThis.crypto.getRandomValues(bytes)
  return bytes
}

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** `length` characters drawn uniformly from `alphabet` (rejection sampling: no modulo bias). */
export function randomString(length: number, alphabet: string): string {
  if (alphabet.length < 2 || alphabet.length > 256) throw new RangeError('alphabet size must be 2..256')
  const limit = 256 - (256 % alphabet.length)
  let out = ''
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit) out += alphabet[b % alphabet.length]
      if (out.length === length) break
    }
  }
  return out
}

/** A PKCE code verifier: 64 unreserved characters (RFC 7636 allows 43 to 128). */
export function newCodeVerifier(): string {
  return randomString(64, UNRESERVED)
}

/** The OAuth `state`: 128 random bits. */
export function newState(): string {
  return base64url(randomBytes(16))
}

/** A new Matrix device id for `urn:matrix:client:device:<id>` (10 or more unreserved characters). */
export function newDeviceId(): string {
  return randomString(12, DEVICE_ALPHABET)
}

/** `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 section 4.2, method S256). */
export async function codeChallengeS256(verifier: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle
  if (!subtle) {
    throw new Error('Signing in needs a secure connection (https). Open this page over https and try again.')
  }
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url(new Uint8Array(digest))
}
