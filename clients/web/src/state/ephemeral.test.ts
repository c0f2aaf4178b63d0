import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, ev, joined, member, syncResp } from '../test/fixtures'
import {
  applyPresence,
  applyReceipts,
  applyTyping,
  formatAgo,
  hasRead,
  placeReceipts,
  presenceLabel,
  typingText,
} from './ephemeral'
import { applyStateEvents } from './events'
import { applySync } from './sync'
import { emptyClientState } from './types'

const ROOM = '!room:hs.test'
const CAROL = '@carol:hs.test'
const DAN = '@dan:hs.test'
const receipt = (eventId: string, users: Record<string, number>, type = 'm.read') => ({
  type: 'm.receipt',
  content: { [eventId]: { [type]: Object.fromEntries(Object.entries(users).map(([u, ts]) => [u, { ts }])) } },
})

describe('typing', () => {
  it('each m.typing event replaces the list', () => {
    const a = applyTyping([], [{ type: 'm.typing', content: { user_ids: [ALICE, BOB] } }])
    expect(a).toEqual([ALICE, BOB])
    expect(applyTyping(a, [{ type: 'm.typing', content: { user_ids: [ALICE, BOB] } }])).toBe(a)
    expect(applyTyping(a, [{ type: 'm.typing', content: { user_ids: [] } }])).toEqual([])
    expect(applyTyping(a, [{ type: 'm.receipt', content: {} }])).toBe(a)
  })

  it('says who is typing, without us', () => {
    const state = applyStateEvents({}, [member(ALICE, 'join', 1, { displayname: 'Ana' }), member(BOB, 'join', 1, { displayname: 'Ben' })])
    expect(typingText([], state, ME)).toBe('')
    expect(typingText([ME], state, ME)).toBe('')
    expect(typingText([ALICE], state, ME)).toBe('Ana is typing…')
    expect(typingText([ALICE, ME, BOB], state, ME)).toBe('Ana and Ben are typing…')
    expect(typingText([ALICE, BOB, CAROL], state, ME)).toBe('Ana, Ben and carol are typing…')
    expect(typingText([ALICE, BOB, CAROL, DAN], state, ME)).toBe('Ana, Ben and 2 others are typing…')
  })

  it('comes from the ephemeral section of a joined room in sync', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 1)]) } }))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: { ephemeral: { events: [{ type: 'm.typing', content: { user_ids: [ALICE] } }] } } } }))
    expect(s.rooms[ROOM].typing).toEqual([ALICE])
    expect(s.rooms[ROOM].timeline).toHaveLength(1)
  })
})

describe('receipts', () => {
  const timeline = [ev('$1', 1), ev('$2', 2), member(BOB, 'join', 3, { id: '$3' }), ev('$4', 4)]

  it('keeps the latest m.read per user; private receipts only for us', () => {
    let r = applyReceipts({}, [receipt('$1', { [ALICE]: 10, [BOB]: 11 })], ME, timeline)
    expect(r).toEqual({ [ALICE]: { eventId: '$1', ts: 10 }, [BOB]: { eventId: '$1', ts: 11 } })
    r = applyReceipts(r, [receipt('$4', { [ALICE]: 20 })], ME, timeline)
    expect(r[ALICE]).toEqual({ eventId: '$4', ts: 20 })
    r = applyReceipts(r, [receipt('$2', { [ALICE]: 30 })], ME, timeline)
    expect(r[ALICE].eventId).toBe('$4') // never backwards
    r = applyReceipts(r, [receipt('$2', { [ME]: 5, [BOB]: 6 }, 'm.read.private')], ME, timeline)
    expect(r[ME]).toEqual({ eventId: '$2', ts: 5 })
    expect(r[BOB].eventId).toBe('$1')
    expect(applyReceipts(r, [receipt('$4', { [ALICE]: 20 })], ME, timeline)).toBe(r)
  })

  it('places each reader under the last shown message at or before their receipt', () => {
    const shown = new Set(['$1', '$2', '$4'])
    const placed = placeReceipts(
      timeline,
      shown,
      {
        [ALICE]: { eventId: '$3', ts: 1 }, // a membership line: shown under $2
        [BOB]: { eventId: '$4', ts: 1 },
        [CAROL]: { eventId: '$4', ts: 1 },
        [ME]: { eventId: '$4', ts: 1 }, // ourselves: never shown
        [DAN]: { eventId: '$unknown', ts: 1 }, // not loaded: left out
      },
      ME,
    )
    expect(Object.fromEntries(placed)).toEqual({ $2: [ALICE], $4: [BOB, CAROL] })
  })

  it('hasRead: the receipt is at or after the event', () => {
    const receipts = { [ALICE]: { eventId: '$2', ts: 1 } }
    expect(hasRead(timeline, receipts, ALICE, '$1')).toBe(true)
    expect(hasRead(timeline, receipts, ALICE, '$2')).toBe(true)
    expect(hasRead(timeline, receipts, ALICE, '$4')).toBe(false)
    expect(hasRead(timeline, receipts, BOB, '$1')).toBe(false)
  })

  it('apply after the timeline of the same sync response', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 1)]) } }))
    s = applySync(
      s,
      syncResp('s2', { join: { [ROOM]: { ...joined([ev('$b', 2)]), ephemeral: { events: [receipt('$b', { [ALICE]: 7 }), receipt('$a', { [ALICE]: 8 })] } } } }),
    )
    expect(s.rooms[ROOM].receipts[ALICE]).toEqual({ eventId: '$b', ts: 7 })
  })
})

describe('presence', () => {
  it('records presence with the time of last activity', () => {
    const p = applyPresence(
      {},
      [
        { type: 'm.presence', sender: ALICE, content: { presence: 'online', last_active_ago: 1000, currently_active: true } },
        { type: 'm.presence', sender: BOB, content: { presence: 'offline', last_active_ago: 300_000 } },
        { type: 'm.presence', sender: CAROL, content: { presence: 'bogus' } },
        { type: 'm.other', sender: DAN, content: {} },
        null,
      ],
      1_000_000,
    )
    expect(p[ALICE]).toEqual({ presence: 'online', lastActiveTs: 999_000, currentlyActive: true })
    expect(p[BOB]).toEqual({ presence: 'offline', lastActiveTs: 700_000, currentlyActive: false })
    expect(p[CAROL].presence).toBe('offline')
    expect(p[DAN]).toBeUndefined()
    expect(applyPresence(p, [], 5)).toBe(p)
  })

  it('comes from the presence section of sync', () => {
    const resp = { ...syncResp('s1'), presence: { events: [{ type: 'm.presence', sender: ALICE, content: { presence: 'unavailable', last_active_ago: 60_000 } }] } }
    const s = applySync(emptyClientState(ME), resp, 100_000)
    expect(s.presence[ALICE]).toEqual({ presence: 'unavailable', lastActiveTs: 40_000, currentlyActive: false })
  })

  it('describes presence for people: online, away, last seen', () => {
    const now = 10_000_000
    expect(presenceLabel(undefined, now)).toBe('Offline')
    expect(presenceLabel({ presence: 'online', lastActiveTs: now, currentlyActive: true }, now)).toBe('Online')
    expect(presenceLabel({ presence: 'unavailable', lastActiveTs: 0, currentlyActive: false }, now)).toBe('Away')
    expect(presenceLabel({ presence: 'offline', lastActiveTs: now - 5 * 60_000, currentlyActive: false }, now)).toBe('Last seen 5 min ago')
    expect(presenceLabel({ presence: 'offline', lastActiveTs: 0, currentlyActive: false }, now)).toBe('Offline')
    expect([10_000, 90_000, 2 * 3600_000, 26 * 3600_000, 72 * 3600_000].map(formatAgo)).toEqual([
      'just now',
      '1 min ago',
      '2 h ago',
      '1 day ago',
      '3 days ago',
    ])
  })
})
