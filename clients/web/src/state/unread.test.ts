import { describe, expect, it } from 'vitest'
import { ME, ev, joined, syncResp } from '../test/fixtures'
import { applySync } from './sync'
import { emptyClientState } from './types'
import { documentTitle, unreadTotals } from './unread'

const counts = (n: number, h: number) => ({ ...joined([ev(`$e${n}${h}`, 1)]), unread_notifications: { notification_count: n, highlight_count: h } })

describe('unread totals and the tab title', () => {
  const s = applySync(
    emptyClientState(ME),
    syncResp('s1', { join: { '!a:hs': counts(2, 0), '!b:hs': counts(1, 1), '!c:hs': counts(0, 0) } }),
  )

  it('sums the server counts over rooms', () => {
    expect(unreadTotals(s)).toEqual({ notifications: 3, highlights: 1, rooms: 2 })
  })

  it('leaves out the room being read', () => {
    expect(unreadTotals(s, '!a:hs')).toEqual({ notifications: 1, highlights: 1, rooms: 1 })
  })

  it('shows the total in the title only when there is any', () => {
    expect(documentTitle(unreadTotals(s))).toBe('(3) Homeserver')
    expect(documentTitle({ notifications: 0, highlights: 0, rooms: 0 })).toBe('Homeserver')
    expect(documentTitle({ notifications: 1500, highlights: 0, rooms: 9 })).toBe('(999+) Homeserver')
  })
})
