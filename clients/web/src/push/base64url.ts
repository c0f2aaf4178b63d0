/**
 * base64url (RFC 4648 §5) without padding, as Web Push uses it: the VAPID key
 * in `/capabilities` (→ `applicationServerKey`), a subscription's `p256dh`
 * and `auth` keys (→ the pusher's `pushkey` and `data.auth`).
 */

/** Decodes base64url (padding optional). Throws on anything else (including standard base64's `+` `/`). */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const trimmed = text.replace(/=+$/, '')
  if (!/^[A-Za-z0-9_-]*$/.test(trimmed) || trimmed.length % 4 === 1) {
    throw new Error('Not base64url')
  }
  const b64 = trimmed.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (trimmed.length % 4)) % 4)
  const binary = atob(b64)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** Encodes bytes as base64url without padding. */
export function bytesToBase64Url(data: ArrayBuffer | ArrayBufferView): string {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i])
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
