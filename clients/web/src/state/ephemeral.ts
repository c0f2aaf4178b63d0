import type { AccountDataEvent, MatrixEvent } from '../api/types'
import { memberName } from './events'
import type { PresenceInfo, PresenceState, Receipt, RoomState, StateMap } from './types'

/**
 * Ephemeral data from sync: typing (`m.typing`), read receipts (`m.receipt`)
 * and presence (`m.presence`). All pure.
 */

/** Typing users of a room after an `m.typing` event (the event replaces the list). */
export function applyTyping(current: string[], events: readonly AccountDataEvent[]): string[] {
  let next = current
  for (const e of events) {
    if (e?.type !== 'm.typing') continue
    const ids = e.content?.user_ids
    const users = Array.isArray(ids) ? ids.filter((u): u is string => typeof u === 'string') : []
    if (users.length !== next.length || users.some((u, i) => u !== next[i])) next = users
  }
  return next
}

/**
 * Receipts after `m.receipt` events. Content is `{eventId: {receiptType:
 * {userId: {ts}}}}` and carries only what changed. Public `m.read` receipts
 * are kept for everyone; our own private `m.read.private` counts for us too.
 * A receipt only moves a user forward: one for an event older (in `timeline`)
 * than the one we know is ignored.
 */
export function applyReceipts(
  current: Record<string, Receipt>,
  events: readonly AccountDataEvent[],
  userId: string,
  timeline: readonly MatrixEvent[],
): Record<string, Receipt> {
  let next = current
  let index: Map<string, number> | null = null
  const position = (eventId: string): number => {
    index ??= new Map(timeline.map((e, i) => [e.event_id, i]))
    return index.get(eventId) ?? -1
  }
  for (const e of events) {
    if (e?.type !== 'm.receipt' || !e.content || typeof e.content !== 'object') continue
    for (const [eventId, byType] of Object.entries(e.content)) {
      if (!byType || typeof byType !== 'object') continue
      for (const [receiptType, users] of Object.entries(byType as Record<string, unknown>)) {
        const counts = receiptType === 'm.read' || (receiptType === 'm.read.private')
        if (!counts || !users || typeof users !== 'object') continue
        for (const [user, info] of Object.entries(users as Record<string, unknown>)) {
          if (receiptType === 'm.read.private' && user !== userId) continue
          const ts = info && typeof info === 'object' && typeof (info as { ts?: unknown }).ts === 'number' ? (info as { ts: number }).ts : 0
          const prev = next[user]
          if (prev && prev.eventId === eventId) continue
          if (prev) {
            const before = position(prev.eventId)
            const after = position(eventId)
            if (before >= 0 && after >= 0 && after < before) continue
          }
          if (next === current) next = { ...current }
          next[user] = { eventId, ts }
        }
      }
    }
  }
  return next
}

/** Applies a room's ephemeral events; returns the same room when nothing changed. */
export function applyRoomEphemeral(room: RoomState, events: readonly AccountDataEvent[], userId: string): RoomState {
  if (events.length === 0) return room
  const typing = applyTyping(room.typing, events)
  const receipts = applyReceipts(room.receipts, events, userId, room.timeline)
  if (typing === room.typing && receipts === room.receipts) return room
  return { ...room, typing, receipts }
}

// ---- Typing ----------------------------------------------------------------

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…" (others than us). */
export function typingText(typing: readonly string[], state: StateMap, userId: string): string {
  const names = typing.filter((u) => u !== userId).map((u) => memberName(state, u))
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`
  const rest = names.length - 2
  return `${names[0]}, ${names[1]} and ${rest} others are typing…`
}

// ---- Receipts --------------------------------------------------------------

/**
 * Where to draw each member's read marker: the shown event (`shown` holds the
 * ids of events displayed as messages) at or before the event their receipt
 * points to. Receipts for events not in the loaded timeline are left out, and
 * so is `userId` (we know what we read). Returns event id → readers.
 */
export function placeReceipts(
  timeline: readonly MatrixEvent[],
  shown: ReadonlySet<string>,
  receipts: Record<string, Receipt>,
  userId: string,
): Map<string, string[]> {
  const index = new Map(timeline.map((e, i) => [e.event_id, i]))
  const out = new Map<string, string[]>()
  for (const [user, r] of Object.entries(receipts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (user === userId) continue
    let i = index.get(r.eventId)
    if (i === undefined) continue
    while (i >= 0 && !shown.has(timeline[i].event_id)) i--
    if (i < 0) continue
    const id = timeline[i].event_id
    const list = out.get(id)
    if (list) list.push(user)
    else out.set(id, [user])
  }
  return out
}

/** Whether `reader`'s receipt is at or after `eventId` in the timeline. */
export function hasRead(
  timeline: readonly MatrixEvent[],
  receipts: Record<string, Receipt>,
  reader: string,
  eventId: string,
): boolean {
  const r = receipts[reader]
  if (!r) return false
  if (r.eventId === eventId) return true
  let target = -1
  let read = -1
  for (let i = 0; i < timeline.length; i++) {
    const id = timeline[i].event_id
    if (id === eventId) target = i
    if (id === r.eventId) read = i
  }
  return target >= 0 && read >= target
}

// ---- Presence --------------------------------------------------------------

const STATES: readonly PresenceState[] = ['online', 'unavailable', 'offline']

/** Presence after `m.presence` events received at `now` (ms since epoch). */
export function applyPresence(
  current: Record<string, PresenceInfo>,
  events: readonly unknown[],
  now: number,
): Record<string, PresenceInfo> {
  let next = current
  for (const raw of events) {
    if (!raw || typeof raw !== 'object') continue
    const e = raw as { type?: unknown; sender?: unknown; content?: Record<string, unknown> }
    if (e.type !== 'm.presence' || typeof e.sender !== 'string' || !e.content) continue
    const c = e.content
    const presence = STATES.includes(c.presence as PresenceState) ? (c.presence as PresenceState) : 'offline'
    const ago = typeof c.last_active_ago === 'number' && c.last_active_ago >= 0 ? c.last_active_ago : undefined
    const info: PresenceInfo = {
      presence,
      lastActiveTs: ago === undefined ? 0 : now - ago,
      currentlyActive: c.currently_active === true,
      ...(typeof c.status_msg === 'string' ? { statusMsg: c.status_msg } : {}),
    }
    if (next === current) next = { ...current }
    next[e.sender] = info
  }
  return next
}

/** "5 min ago", "2 h ago", "3 days ago", "just now". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return 'just now'
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ago`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h} h ago`
  const d = Math.floor(h / 24)
  return `${d} day${d === 1 ? '' : 's'} ago`
}

/** A short human description: "Online", "Away", "Last seen 5 min ago", "Offline". */
export function presenceLabel(p: PresenceInfo | undefined, now: number): string {
  if (!p) return 'Offline'
  if (p.presence === 'online') return 'Online'
  if (p.presence === 'unavailable') return p.lastActiveTs ? `Away · last active ${formatAgo(now - p.lastActiveTs)}` : 'Away'
  return p.lastActiveTs ? `Last seen ${formatAgo(now - p.lastActiveTs)}` : 'Offline'
}
