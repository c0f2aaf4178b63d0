import type { JsonObject } from '../api/types'

/** The server refuses events whose canonical JSON is above 64 KiB (and stream frames above that too). */
export const MAX_EVENT_BYTES = 65_536

/**
 * Room for what the server adds around a message's content (room and sender
 * ids, auth and prev events, hashes, signatures) and the send frame's own
 * fields: the content must stay below the limit by this much.
 */
export const EVENT_ENVELOPE_BYTES = 2_048

/** The largest message content that can be sent, in bytes of JSON. */
export const MAX_CONTENT_BYTES = MAX_EVENT_BYTES - EVENT_ENVELOPE_BYTES

const encoder = new TextEncoder()

/** Size of `content` as the server will count it (UTF-8 bytes of its JSON). */
export function contentBytes(content: JsonObject): number {
  return encoder.encode(JSON.stringify(content)).length
}

function kib(bytes: number): string {
  return `${Math.ceil(bytes / 1024)} KB`
}

/** Thrown instead of sending a message the server would refuse for its size. */
export class MessageTooLargeError extends Error {
  readonly bytes: number
  constructor(bytes: number) {
    super(`This message is too long to send (${kib(bytes)}; the limit is ${kib(MAX_CONTENT_BYTES)}). Shorten it or split it into several messages.`)
    this.name = 'MessageTooLargeError'
    this.bytes = bytes
  }
}

/** Throws MessageTooLargeError when `content` is over the limit. */
export function checkContentSize(content: JsonObject): void {
  const bytes = contentBytes(content)
  if (bytes > MAX_CONTENT_BYTES) throw new MessageTooLargeError(bytes)
}
