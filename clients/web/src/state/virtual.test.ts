import { describe, expect, it } from 'vitest'
import type { DisplayMessage, TimelineItem } from './grouping'
import {
  anchorAt,
  anchoredTop,
  estimatedHeight,
  rangeCovers,
  rowAt,
  rowOffsets,
  rowsBetween,
  rowSizeKey,
  timelineRows,
  UNREAD_ROW_KEY,
  windowKeys,
  windowRange,
} from './virtual'

function msg(key: string, sender = '@a:hs'): DisplayMessage {
  return { key, eventId: key, sender, ts: 0, type: 'm.room.message', content: { body: key }, status: 'remote' }
}

const items: TimelineItem[] = [
  { kind: 'day', key: 'day-2026-01-01', ts: 0 },
  { kind: 'group', key: 'group-$1', sender: '@a:hs', messages: [msg('$1'), msg('$2'), msg('$3')] },
  { kind: 'notice', key: '$n', ts: 0, text: 'b joined', eventId: '$n' },
  { kind: 'group', key: 'group-$4', sender: '@b:hs', messages: [msg('$4', '@b:hs')] },
]

describe('timelineRows', () => {
  it('gives each message its own row, the first of a run with its sender', () => {
    const rows = timelineRows(items)
    expect(rows.map((r) => r.key)).toEqual(['day-2026-01-01', '$1', '$2', '$3', 'notice-$n', '$4'])
    expect(rows.map((r) => (r.kind === 'message' ? r.first : null))).toEqual([null, true, false, false, null, true])
  })

  it('puts the "New messages" line before its message, which shows its sender again', () => {
    const rows = timelineRows(items, '$3')
    expect(rows.map((r) => r.key)).toEqual(['day-2026-01-01', '$1', '$2', UNREAD_ROW_KEY, '$3', 'notice-$n', '$4'])
    const third = rows[4]
    expect(third.kind === 'message' && third.first).toBe(true)
  })

  it('measures a first line apart from the same message without its sender', () => {
    const [first] = timelineRows([{ kind: 'group', key: 'g', sender: '@a:hs', messages: [msg('$1')] }])
    const later = timelineRows([{ kind: 'group', key: 'g', sender: '@a:hs', messages: [msg('$0'), msg('$1')] }])[1]
    expect(rowSizeKey(first)).not.toBe(rowSizeKey(later))
    expect(estimatedHeight(first)).toBeGreaterThan(estimatedHeight(later))
  })
})

describe('offsets and windows', () => {
  const rows = timelineRows(items)
  const heights = new Map([
    [rowSizeKey(rows[0]), 40],
    [rowSizeKey(rows[1]), 50],
    [rowSizeKey(rows[2]), 20],
  ])
  const offsets = rowOffsets(rows, heights)

  it('adds measured heights, and estimates for rows never rendered', () => {
    expect(Array.from(offsets.slice(0, 4))).toEqual([0, 40, 90, 110])
    expect(offsets[6]).toBe(110 + estimatedHeight(rows[3]) + estimatedHeight(rows[4]) + estimatedHeight(rows[5]))
  })

  it('finds the row at a position, clamped to the list', () => {
    expect(rowAt(offsets, -5)).toBe(0)
    expect(rowAt(offsets, 0)).toBe(0)
    expect(rowAt(offsets, 39.9)).toBe(0)
    expect(rowAt(offsets, 40)).toBe(1)
    expect(rowAt(offsets, 100)).toBe(2)
    expect(rowAt(offsets, 1e9)).toBe(5)
  })

  it('renders the rows overlapping a span, at least one', () => {
    expect(rowsBetween(offsets, 45, 95)).toEqual({ start: 1, end: 3 })
    expect(rowsBetween(offsets, 45, 90)).toEqual({ start: 1, end: 2 })
    expect(rowsBetween(offsets, -100, 1e9)).toEqual({ start: 0, end: 6 })
    expect(rowsBetween(new Float64Array([0]), 0, 100)).toEqual({ start: 0, end: 0 })
  })

  it('says when a rendered range no longer reaches far enough beyond the viewport', () => {
    expect(rangeCovers({ start: 0, end: 6 }, offsets, 50, 20, 1000)).toBe(true)
    expect(rangeCovers({ start: 1, end: 3 }, offsets, 60, 10, 10)).toBe(true)
    expect(rangeCovers({ start: 1, end: 3 }, offsets, 45, 10, 10)).toBe(false)
    expect(rangeCovers({ start: 1, end: 2 }, offsets, 60, 10, 30)).toBe(false)
  })
})

describe('scroll anchors', () => {
  it('hold what is on screen in place when older rows are added above', () => {
    const rows = timelineRows(items)
    const offsets = rowOffsets(rows, new Map())
    const top = offsets[2] + 7
    const anchor = anchorAt(rows, offsets, top)!
    expect(anchor).toEqual({ key: '$2', delta: 7 })

    const older: TimelineItem[] = [
      { kind: 'day', key: 'day-2026-01-01', ts: 0 },
      { kind: 'group', key: 'group-$0', sender: '@a:hs', messages: [msg('$-1'), msg('$0'), msg('$1'), msg('$2'), msg('$3')] },
      ...items.slice(2),
    ]
    const after = timelineRows(older)
    const offsetsAfter = rowOffsets(after, new Map())
    const indexOf = new Map(after.map((r, i) => [r.key, i]))
    expect(anchoredTop(anchor, indexOf, offsetsAfter)).toBe(offsetsAfter[4] + 7)
    expect(anchoredTop({ key: 'gone', delta: 0 }, indexOf, offsetsAfter)).toBeNull()
  })

  it('are messages, never the day separator (older messages of the day go below it)', () => {
    const rows = timelineRows(items)
    const offsets = rowOffsets(rows, new Map())
    expect(anchorAt(rows, offsets, -48)).toEqual({ key: '$1', delta: -48 - offsets[1] })
    expect(anchorAt([], new Float64Array([0]), 0)).toBeNull()
  })

  it('are the first rendered row on screen while the top of the viewport is over rows not rendered yet', () => {
    const rows = timelineRows(items)
    const offsets = rowOffsets(rows, new Map())
    const top = offsets[1] + 3
    expect(anchorAt(rows, offsets, top, { range: { start: 3, end: 6 }, height: 1000 })).toEqual({ key: '$3', delta: top - offsets[3] })
    // Off screen: the row at the top, as without.
    expect(anchorAt(rows, offsets, top, { range: { start: 3, end: 6 }, height: 5 })).toEqual({ key: '$1', delta: 3 })
  })
})

describe('rendered windows', () => {
  it('are told by messages, so they mean the same rows once older ones of the day are prepended', () => {
    const rows = timelineRows(items)
    const keys = windowKeys(rows, { start: 0, end: 3 })!
    expect(keys).toEqual({ first: '$1', last: '$2' })
    // The day's line right above comes along.
    expect(windowRange(rows, new Map(rows.map((r, i) => [r.key, i])), keys)).toEqual({ start: 0, end: 3 })

    const older = timelineRows([
      { kind: 'day', key: 'day-2026-01-01', ts: 0 },
      { kind: 'group', key: 'group-$0', sender: '@a:hs', messages: [msg('$0'), msg('$1'), msg('$2'), msg('$3')] },
    ])
    const indexOf = new Map(older.map((r, i) => [r.key, i]))
    expect(windowRange(older, indexOf, keys)).toEqual({ start: 2, end: 4 })
    expect(windowRange(older, indexOf, { first: '$9', last: '$2' })).toBeNull()
  })

  it('take the day line right below along too', () => {
    const rows = timelineRows([...items, { kind: 'day', key: 'day-2026-01-02', ts: 1 }])
    const indexOf = new Map(rows.map((r, i) => [r.key, i]))
    expect(windowRange(rows, indexOf, { first: '$3', last: '$4' })).toEqual({ start: 3, end: 7 })
  })

  it('have no keys when they hold only day lines', () => {
    const rows = timelineRows(items)
    expect(windowKeys(rows, { start: 0, end: 1 })).toBeNull()
  })
})
