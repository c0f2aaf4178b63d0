import type { MatrixEvent, SyncResponse } from '../api/types'
import { directRoomIds } from './dm'
import { localpart, memberName, str } from './events'
import { isRoomMuted } from './pushRules'
import { isRelationOnly } from './relations'
import { roomDisplayName } from './rooms'
import type { ClientState } from './types'

/**
 * What a chat notification says. The same shape is posted to the service
 * worker by the page and sent by the server through Web Push.
 */
export interface NotificationPayload {
  room_id: string
  event_id: string
  sender: string
  sender_display_name?: string
  room_name?: string
  body?: string
  /** Unread notifications in the room (server count, or 1 when unknown). */
  unread: number
  /** 'high' for mentions ('normal' from the page, 'low' from the server for other messages). */
  prio: 'high' | 'normal' | 'low'
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Whether a message mentions `userId` (m.mentions, the user id, localpart or display name as a word). */
export function mentions(e: MatrixEvent, userId: string, displayName?: string): boolean {
  const m = e.content['m.mentions']
  if (m && typeof m === 'object') {
    const ids = (m as { user_ids?: unknown }).user_ids
    if (Array.isArray(ids) && ids.includes(userId)) return true
  }
  const body = str(e.content.body)
  if (!body) return false
  const names = [userId, localpart(userId), displayName].filter((n): n is string => !!n && n.trim().length > 1)
  return names.some((n) => new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escapeRegExp(n)}($|[^\\p{L}\\p{N}_])`, 'iu').test(body))
}

/**
 * Messages in a live sync batch worth a notification: from someone else,
 * new, in a room that is not muted, and in a DM or mentioning us (or the
 * room's highlight count went up).
 * Nothing for the first sync (that is history, not news). At most `max`,
 * newest last.
 */
export function notificationsFor(
  before: ClientState,
  after: ClientState,
  response: SyncResponse,
  max = 3,
): NotificationPayload[] {
  if (!before.synced) return []
  const userId = after.userId
  const direct = directRoomIds(after.accountData['m.direct'])
  const pushRules = after.accountData['m.push_rules']
  const out: NotificationPayload[] = []
  for (const [roomId, joined] of Object.entries(response.rooms?.join ?? {})) {
    const room = after.rooms[roomId]
    if (!room) continue
    // Muted with a push rule: no notification from the page either.
    if (isRoomMuted(pushRules, roomId)) continue
    const known = new Set((before.rooms[roomId]?.timeline ?? []).map((e) => e.event_id))
    const highlightRose = room.highlightCount > (before.rooms[roomId]?.highlightCount ?? 0)
    const myName = str(room.state['m.room.member']?.[userId]?.content.displayname)
    const events = (joined.timeline?.events ?? []).filter(
      (e): e is MatrixEvent =>
        !!e && typeof e.event_id === 'string' && e.type === 'm.room.message' && e.sender !== userId && !known.has(e.event_id),
    )
    for (const e of events) {
      if (isRelationOnly(e) || Object.keys(e.content).length === 0) continue
      const isDirect = direct.has(roomId)
      const mention = mentions(e, userId, myName)
      if (!isDirect && !mention && !highlightRose) continue
      const senderName = memberName(room.state, e.sender)
      const roomName = roomDisplayName(room, userId)
      out.push({
        room_id: roomId,
        event_id: e.event_id,
        sender: e.sender,
        sender_display_name: senderName,
        ...(isDirect ? {} : { room_name: roomName }),
        body: str(e.content.body)?.slice(0, 300) ?? '',
        unread: Math.max(1, room.notificationCount),
        prio: mention || highlightRose ? 'high' : 'normal',
      })
    }
  }
  return out.slice(-max)
}

/**
 * Title and body of a notification, as both the page and the service worker
 * (public/sw.js `notificationText`) show it: the title is the room (in a DM,
 * the sender); the body is "Sender: preview" — only the preview when the title
 * already names the sender — or "New message" when there is no preview.
 */
export function notificationText(p: NotificationPayload): { title: string; body: string } {
  const who = p.sender_display_name?.trim() || localpart(p.sender)
  const title = p.room_name?.trim() || who
  const preview = p.body?.trim() ?? ''
  if (title === who) return { title, body: preview || 'New message' }
  return { title, body: preview ? `${who}: ${preview}` : `New message from ${who}` }
}
