import { describe, expect, it } from 'vitest'
import { ev, joined, syncResp, ME } from '../test/fixtures'
import { reduce } from './reducer'
import { applySync } from './sync'
import { appendLive, mergeHistory } from './timeline'
import { emptyClientState } from './types'

const ids = (events: { event_id: string }[]) => events.map((e) => e.event_id)

describe('mergeHistory', () => {
  const live = [ev('$7', 70), ev('$8', 80), ev('$9', 90)]

  it('prepends an older page given newest-first (dir=b)', () => {
    const page = [ev('$6', 60), ev('$5', 50), ev('$4', 40)]
    expect(ids(mergeHistory(live, page))).toEqual(['$4', '$5', '$6', '$7', '$8', '$9'])
  })

  it('drops events already known when pages overlap', () => {
    const page = [ev('$8', 80), ev('$7', 70), ev('$6', 60), ev('$5', 50)]
    const merged = mergeHistory(live, page)
    expect(ids(merged)).toEqual(['$5', '$6', '$7', '$8', '$9'])
  })

  it('keeps chronological order when pages arrive out of order', () => {
    const page1 = [ev('$6', 60), ev('$5', 50), ev('$4', 40)]
    const page2 = [ev('$3', 30), ev('$2', 20), ev('$1', 10)]
    const a = mergeHistory(mergeHistory(live, page2), page1)
    expect(ids(a)).toEqual(['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9'])
    const b = mergeHistory(mergeHistory(live, page1), page2)
    expect(ids(b)).toEqual(ids(a))
  })

  it('handles overlapping out-of-order pages without duplicates', () => {
    const page1 = [ev('$6', 60), ev('$5', 50), ev('$4', 40)]
    const page2 = [ev('$5', 50), ev('$4', 40), ev('$3', 30), ev('$2', 20)]
    const merged = mergeHistory(mergeHistory(live, page2), page1)
    expect(ids(merged)).toEqual(['$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9'])
    expect(new Set(ids(merged)).size).toBe(merged.length)
  })

  it('keeps server order for equal timestamps', () => {
    const page = [ev('$c', 50), ev('$b', 50), ev('$a', 50)]
    expect(ids(mergeHistory([ev('$d', 50)], page))).toEqual(['$a', '$b', '$c', '$d'])
  })

  it('returns the same array when nothing is new', () => {
    expect(mergeHistory(live, [ev('$8', 80)])).toBe(live)
  })
})

describe('appendLive', () => {
  it('appends only unseen events', () => {
    const tl = [ev('$1', 10)]
    expect(ids(appendLive(tl, [ev('$1', 10), ev('$2', 20), ev('$2', 20)]))).toEqual(['$1', '$2'])
  })
})

describe('history action', () => {
  const ROOM = '!r:hs.test'
  const base = () => applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$9', 90)], { prevBatch: 't9' }) } }))

  it('merges the page and moves the token to `end`', () => {
    const s = reduce(base(), { type: 'history', roomId: ROOM, from: 't9', chunk: [ev('$8', 80)], end: 't8' })
    expect(ids(s.rooms[ROOM].timeline)).toEqual(['$8', '$9'])
    expect(s.rooms[ROOM].prevBatch).toBe('t8')
  })

  it('marks the start of the room reached when `end` is missing', () => {
    const s = reduce(base(), { type: 'history', roomId: ROOM, from: 't9', chunk: [ev('$8', 80)] })
    expect(s.rooms[ROOM].prevBatch).toBeNull()
  })

  it('ignores a page requested with a stale token (timeline was reset meanwhile)', () => {
    let s = base()
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([ev('$50', 500)], { limited: true, prevBatch: 't50' }) } }))
    const after = reduce(s, { type: 'history', roomId: ROOM, from: 't9', chunk: [ev('$8', 80)], end: 't8' })
    expect(after).toBe(s)
    expect(ids(after.rooms[ROOM].timeline)).toEqual(['$50'])
  })
})
