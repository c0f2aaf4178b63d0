import type { MatrixEvent } from '../api/types'

/**
 * Appends live events (chronological) to a timeline, skipping events already
 * present. Returns the same array when nothing was added.
 */
export function appendLive(timeline: readonly MatrixEvent[], events: readonly MatrixEvent[]): MatrixEvent[] {
  if (events.length === 0) return timeline as MatrixEvent[]
  const seen = new Set(timeline.map((e) => e.event_id))
  const added: MatrixEvent[] = []
  for (const e of events) {
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    added.push(e)
  }
  return added.length ? [...timeline, ...added] : (timeline as MatrixEvent[])
}

/**
 * Merges a page of older history into a timeline.
 *
 * `chunk` is as answered by `/messages?dir=b`: newest first. Pages may
 * overlap with what is known, or arrive out of order; the result holds each
 * event once, in chronological order (by origin_server_ts; events with equal
 * timestamps keep their relative server order, older-page events first).
 * Returns the same array when nothing was added.
 */
export function mergeHistory(timeline: readonly MatrixEvent[], chunk: readonly MatrixEvent[]): MatrixEvent[] {
  const seen = new Set(timeline.map((e) => e.event_id))
  const older: MatrixEvent[] = []
  for (let i = chunk.length - 1; i >= 0; i--) {
    const e = chunk[i]
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    older.push(e)
  }
  if (older.length === 0) return timeline as MatrixEvent[]
  // Fast path: the page is entirely older than what we have.
  const first = timeline[0]
  if (!first || older[older.length - 1].origin_server_ts <= first.origin_server_ts) {
    if (isSorted(older)) return [...older, ...timeline]
  }
  // General case: stable sort of the union (older page first on equal timestamps).
  return [...older, ...timeline]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.origin_server_ts - b.e.origin_server_ts || a.i - b.i)
    .map((x) => x.e)
}

function isSorted(events: readonly MatrixEvent[]): boolean {
  for (let i = 1; i < events.length; i++) {
    if (events[i].origin_server_ts < events[i - 1].origin_server_ts) return false
  }
  return true
}
