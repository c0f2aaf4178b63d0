import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TypingNotifier } from './typingNotifier'

describe('TypingNotifier', () => {
  let sent: [boolean, number][]
  let t: TypingNotifier
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
    sent = []
    t = new TypingNotifier({ send: (typing, timeout) => sent.push([typing, timeout]), idleMs: 5000, refreshMs: 20_000 })
  })
  afterEach(() => {
    t.dispose()
    vi.useRealTimers()
  })

  it('says "typing" once for a burst of keystrokes, then "stopped" after the idle time', () => {
    t.input('h')
    t.input('he')
    t.input('hel')
    expect(sent).toEqual([[true, 30000]])
    vi.advanceTimersByTime(4999)
    expect(sent).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sent).toEqual([
      [true, 30000],
      [false, 0],
    ])
  })

  it('repeats "typing" while typing goes on, so the server timeout never ends it', () => {
    for (let i = 0; i < 25; i++) {
      t.input('x'.repeat(i + 1))
      vi.advanceTimersByTime(1000)
    }
    expect(sent.filter(([typing]) => typing)).toHaveLength(2) // at 0 s and 20 s
    expect(sent.some(([typing]) => !typing)).toBe(false)
  })

  it('stops when the text is emptied, on send / blur, and only once', () => {
    t.input('hi')
    t.input('')
    expect(sent).toEqual([
      [true, 30000],
      [false, 0],
    ])
    t.stop()
    t.input('again')
    t.stop()
    t.stop()
    vi.advanceTimersByTime(10_000)
    expect(sent).toEqual([
      [true, 30000],
      [false, 0],
      [true, 30000],
      [false, 0],
    ])
  })

  it('whitespace is not typing', () => {
    t.input('   ')
    expect(sent).toEqual([])
  })
})
