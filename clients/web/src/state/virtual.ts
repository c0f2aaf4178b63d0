import type { DisplayMessage, TimelineItem } from './grouping'

/**
 * The timeline as a flat list of rows, one per message (the first of a
 * sender's run carries their name and picture), day, notice and the "New
 * messages" line: what the virtualized timeline renders a window of. A run
 * of one sender can be thousands of messages long, so rows are messages,
 * not runs.
 */
export type TimelineRow =
  | { kind: 'day'; key: string; ts: number }
  | { kind: 'notice'; key: string; notice: Extract<TimelineItem, { kind: 'notice' }> }
  | { kind: 'unread'; key: string }
  | { kind: 'message'; key: string; message: DisplayMessage; sender: string; first: boolean }

export const UNREAD_ROW_KEY = 'unread-marker'

/** The rows of grouped items; the "New messages" line goes before the message `unreadAfter`. */
export function timelineRows(items: readonly TimelineItem[], unreadAfter?: string): TimelineRow[] {
  const rows: TimelineRow[] = []
  for (const item of items) {
    if (item.kind === 'day') rows.push({ kind: 'day', key: item.key, ts: item.ts })
    else if (item.kind === 'notice') rows.push({ kind: 'notice', key: `notice-${item.key}`, notice: item })
    else {
      item.messages.forEach((m, i) => {
        // After the line, the sender's name is shown again: the line splits the run.
        const marker = unreadAfter !== undefined && m.key === unreadAfter
        if (marker) rows.push({ kind: 'unread', key: UNREAD_ROW_KEY })
        rows.push({ kind: 'message', key: m.key, message: m, sender: item.sender, first: i === 0 || marker })
      })
    }
  }
  return rows
}

/** What a row's measured height is kept under: a message with its sender's name is taller than without. */
export function rowSizeKey(row: TimelineRow): string {
  return row.kind === 'message' && row.first ? `${row.key}#first` : row.key
}

/** A guess of a row's height (px) until it has been rendered and measured. */
export function estimatedHeight(row: TimelineRow): number {
  switch (row.kind) {
    case 'day':
      return 40
    case 'notice':
      return 24
    case 'unread':
      return 32
    case 'message':
      return row.first ? 50 : 26
  }
}

/**
 * Where each row starts (px from the list's top), measured heights where
 * known, estimates elsewhere: `offsets[i]` is the top of row i and
 * `offsets[rows.length]` the list's whole height.
 */
export function rowOffsets(rows: readonly TimelineRow[], heights: ReadonlyMap<string, number>): Float64Array {
  const offsets = new Float64Array(rows.length + 1)
  for (let i = 0; i < rows.length; i++) {
    offsets[i + 1] = offsets[i] + (heights.get(rowSizeKey(rows[i])) ?? estimatedHeight(rows[i]))
  }
  return offsets
}

/** The row at `y` px from the list's top (the first or last row when `y` is outside). */
export function rowAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1
  if (n <= 0) return 0
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (offsets[mid] <= y) lo = mid
    else hi = mid - 1
  }
  return lo
}

export interface RowRange {
  /** First row rendered. */
  start: number
  /** One past the last row rendered. */
  end: number
}

/** The rows that overlap [top, bottom) px of the list (at least one row when there are rows). */
export function rowsBetween(offsets: Float64Array, top: number, bottom: number): RowRange {
  const n = offsets.length - 1
  if (n <= 0) return { start: 0, end: 0 }
  const start = rowAt(offsets, top)
  const end = Math.max(start + 1, rowAt(offsets, Math.max(top, bottom - 0.5)) + 1)
  return { start, end: Math.min(n, end) }
}

/**
 * Whether the rendered `range` reaches `margin` px beyond the viewport
 * [top, top + height) on both sides (or the list's ends): while it does,
 * scrolling needs no new render.
 */
export function rangeCovers(range: RowRange, offsets: Float64Array, top: number, height: number, margin: number): boolean {
  const n = offsets.length - 1
  if (n === 0) return range.start === 0 && range.end === 0
  const total = offsets[n]
  const wantTop = Math.max(0, top - margin)
  const wantBottom = Math.min(total, top + height + margin)
  return offsets[range.start] <= wantTop && (range.end >= n || offsets[range.end] >= wantBottom)
}

/**
 * A scroll position told by a row: the viewport's top is `delta` px below
 * the top of row `key`. Kept across renders, it holds what the user sees in
 * place when rows are added above (older history) or their heights change.
 */
export interface ScrollAnchor {
  key: string
  delta: number
}

/**
 * The anchor of a viewport whose top is `top` px from the list's top: the
 * message (or notice) there, or the next one. Not a day's separator: it is
 * the first row of its day, whichever message that is, so older history of
 * the same day goes below it.
 */
export function anchorAt(
  rows: readonly TimelineRow[],
  offsets: Float64Array,
  top: number,
  /** The rendered rows and the viewport's height: what is on screen is one of them, if any is. */
  rendered?: { range: RowRange; height: number },
): ScrollAnchor | null {
  if (rows.length === 0) return null
  let i = rowAt(offsets, Math.max(0, top))
  if (rendered) {
    // The viewport's top may still be over rows not rendered (estimated):
    // what the user sees is the first rendered row, which must not move.
    const { range, height } = rendered
    if (i < range.start && range.start < range.end && offsets[range.start] < top + height) i = range.start
  }
  while (i < rows.length - 1 && (rows[i].kind === 'day' || rows[i].kind === 'unread')) i++
  return { key: rows[i].key, delta: top - offsets[i] }
}

/** The list's scroll offset (px) that puts the anchor back where it was; null when its row is gone. */
export function anchoredTop(anchor: ScrollAnchor, indexOf: ReadonlyMap<string, number>, offsets: Float64Array): number | null {
  const i = indexOf.get(anchor.key)
  return i === undefined ? null : offsets[i] + anchor.delta
}

/** Rows that stand where they are whatever is loaded: messages and notices (not a day's first row, nor the "New messages" line). */
function isFixed(row: TimelineRow): boolean {
  return row.kind === 'message' || row.kind === 'notice'
}

/**
 * A rendered window told by rows that keep their place (see isFixed), so
 * that it still means the same rows once older history is prepended; null
 * when it has none.
 */
export function windowKeys(rows: readonly TimelineRow[], range: RowRange): { first: string; last: string } | null {
  let first = range.start
  while (first < range.end && !isFixed(rows[first])) first++
  let last = range.end - 1
  while (last >= first && !isFixed(rows[last])) last--
  return first < range.end && last >= first ? { first: rows[first].key, last: rows[last].key } : null
}

/** The rows of a window told by windowKeys, with the day lines or "New messages" right around it; null when a row is gone. */
export function windowRange(
  rows: readonly TimelineRow[],
  indexOf: ReadonlyMap<string, number>,
  keys: { first: string; last: string },
): RowRange | null {
  let start = indexOf.get(keys.first)
  const last = indexOf.get(keys.last)
  if (start === undefined || last === undefined || last < start) return null
  while (start > 0 && !isFixed(rows[start - 1])) start--
  let end = last + 1
  while (end < rows.length && !isFixed(rows[end])) end++
  return { start, end }
}
