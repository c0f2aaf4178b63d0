import { describe, expect, it } from 'vitest'
import { checkContentSize, contentBytes, MAX_CONTENT_BYTES, MAX_EVENT_BYTES, MessageTooLargeError } from './limits'

describe('message size limit', () => {
  it('counts UTF-8 bytes of the JSON, not characters', () => {
    expect(contentBytes({ body: 'é' })).toBe('{"body":"é"}'.length + 1)
    expect(contentBytes({ body: '👋' })).toBe(JSON.stringify({ body: '' }).length + 4)
  })

  it('accepts content up to the limit and refuses one byte more, with the reason in words', () => {
    const overhead = contentBytes({ msgtype: 'm.text', body: '' })
    expect(() => checkContentSize({ msgtype: 'm.text', body: 'x'.repeat(MAX_CONTENT_BYTES - overhead) })).not.toThrow()
    let error: unknown
    try {
      checkContentSize({ msgtype: 'm.text', body: 'x'.repeat(MAX_CONTENT_BYTES - overhead + 1) })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MessageTooLargeError)
    expect((error as Error).message).toMatch(/too long to send \(63 KB; the limit is 62 KB\)/)
  })

  it('leaves room for the event envelope below the server limit', () => {
    expect(MAX_CONTENT_BYTES).toBeLessThan(MAX_EVENT_BYTES)
  })
})
