import type { MatrixEvent } from '../api/types'

/** Whether an event counts towards a room's unread count for `userId`. */
export function countsAsUnread(e: MatrixEvent, userId: string, readMarkerTs: number | undefined): boolean {
  if (e.type !== 'm.room.message') return false
  if (e.sender === userId) return false
  if (Object.keys(e.content).length === 0) return false // redacted
  return readMarkerTs === undefined || e.origin_server_ts > readMarkerTs
}

/** Number of events in `events` that count as unread. */
export function countUnread(events: readonly MatrixEvent[], userId: string, readMarkerTs: number | undefined): number {
  let n = 0
  for (const e of events) if (countsAsUnread(e, userId, readMarkerTs)) n++
  return n
}

const KEY_PREFIX = 'hs.readMarkers.'

export function loadReadMarkers(userId: string): Record<string, number> {
  try {
    const raw = globalThis.localStorage?.getItem(KEY_PREFIX + userId)
    if (!raw) return {}
    const parsed = JSON.parse(raw) as unknown
    if (!parsed || typeof parsed !== 'object') return {}
    const out: Record<string, number> = {}
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'number') out[k] = v
    return out
  } catch {
    return {}
  }
}

export function saveReadMarkers(userId: string, markers: Record<string, number>): void {
  try {
    globalThis.localStorage?.setItem(KEY_PREFIX + userId, JSON.stringify(markers))
  } catch {
    /* storage full or unavailable: unread counts just won't persist */
  }
}

export function clearReadMarkers(userId: string): void {
  try {
    globalThis.localStorage?.removeItem(KEY_PREFIX + userId)
  } catch {
    /* ignore */
  }
}
