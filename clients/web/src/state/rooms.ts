import { roomAvatar } from './avatars'
import type { MatrixEvent } from '../api/types'
import { directPartner, directRoomIds } from './dm'
import { getState, localpart, memberName, messageBody, str, strippedState } from './events'
import { stripReplyFallback } from './compose'
import { isRelationEcho } from './grouping'
import { collectEdits, displayedContent, isRelationOnly } from './relations'
import type { ClientState, InviteState, LocalEcho, RoomState } from './types'

/** Human name of a room: its name, alias, or the other members' names. */
export function roomDisplayName(room: RoomState, userId: string): string {
  const name = str(getState(room.state, 'm.room.name')?.content.name)?.trim()
  if (name) return name
  const alias = str(getState(room.state, 'm.room.canonical_alias')?.content.alias)
  if (alias) return alias
  const others = otherMembers(room, userId)
  if (others.length > 0) {
    const names = others.slice(0, 3).map((u) => memberName(room.state, u))
    const rest = others.length - names.length
    return rest > 0 ? `${names.join(', ')} and ${rest} other${rest > 1 ? 's' : ''}` : names.join(', ')
  }
  return 'Empty room'
}

/** Other joined or invited members (heroes first, if the server sent them). */
export function otherMembers(room: RoomState, userId: string): string[] {
  const heroes = (room.summary.heroes ?? []).filter((u) => u !== userId)
  if (heroes.length > 0) return heroes
  const members = room.state['m.room.member'] ?? {}
  return Object.keys(members)
    .filter((u) => u !== userId)
    .filter((u) => {
      const m = str(members[u].content.membership)
      return m === 'join' || m === 'invite'
    })
    .sort()
}

export function roomTopic(room: RoomState): string | undefined {
  return str(getState(room.state, 'm.room.topic')?.content.topic)?.trim() || undefined
}

/** The newest event worth previewing in the room list (edits shown with their new content). */
export function lastMessage(room: RoomState): MatrixEvent | undefined {
  for (let i = room.timeline.length - 1; i >= 0; i--) {
    const e = room.timeline[i]
    if (isRelationOnly(e)) continue
    if (e.type === 'm.room.message' || e.type === 'm.room.encrypted') {
      const { content, edited } = displayedContent(e, collectEdits(room.timeline.slice(i)))
      return edited ? { ...e, content } : e
    }
  }
  return undefined
}

export interface RoomListEntry {
  roomId: string
  name: string
  isDirect: boolean
  preview: string
  /** Timestamp shown beside the preview (latest activity), 0 when unknown. */
  ts: number
  /** Unread notifications (server count). */
  notifications: number
  /** Unread mentions (server count). */
  highlights: number
  /** For a DM: the other person. */
  partner?: string
  /** The room's picture (mxc URI; a DM's is the other person's). */
  avatar?: string
}

/** One-line preview of a message for the room list. */
export function previewText(e: MatrixEvent | LocalEcho, state: RoomState['state'], userId: string): string {
  const sender = 'sender' in e ? e.sender : userId
  const who = sender === userId ? 'You' : memberName(state, sender)
  if ('type' in e && e.type === 'm.room.encrypted') return `${who}: Encrypted message`
  const body = stripReplyFallback(messageBody(e)).replace(/\s+/g, ' ').trim()
  if (!body) return `${who}: Message deleted`
  if (str(e.content.msgtype) === 'm.emote') return `* ${who} ${body}`
  return `${who}: ${body}`
}

export function roomListEntry(state: ClientState, room: RoomState, direct: Set<string>): RoomListEntry {
  const last = lastMessage(room)
  // A message that failed to send is not the room's latest news (it stays in the timeline to retry).
  // Nor is an edit or a reaction on its way (the edited message shows its new text once it is back).
  const echoes = state.echoes.filter((e) => e.roomId === room.roomId && e.status !== 'failed' && !isRelationEcho(e))
  const lastEcho = echoes[echoes.length - 1]
  let preview = ''
  let ts = room.lastActivityTs
  if (lastEcho && (!last || lastEcho.createdTs >= last.origin_server_ts)) {
    preview = previewText(lastEcho, room.state, state.userId)
    ts = Math.max(ts, lastEcho.createdTs)
  } else if (last) {
    preview = previewText(last, room.state, state.userId)
  }
  const isDirect = direct.has(room.roomId)
  const partner = isDirect
    ? (directPartner(state.accountData['m.direct'], room.roomId) ?? otherMembers(room, state.userId)[0])
    : undefined
  const avatar = roomAvatar(room.state, partner)
  return {
    roomId: room.roomId,
    name: roomDisplayName(room, state.userId),
    isDirect,
    preview,
    ts,
    notifications: Math.max(room.notificationCount, room.highlightCount),
    highlights: room.highlightCount,
    ...(partner ? { partner } : {}),
    ...(avatar ? { avatar } : {}),
  }
}

/** Sorts by latest activity, newest first; ties by name then id (stable, deterministic). */
export function sortRoomEntries<T extends { ts: number; name: string; roomId: string }>(entries: readonly T[]): T[] {
  return [...entries].sort(
    (a, b) => b.ts - a.ts || a.name.localeCompare(b.name) || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0),
  )
}

/** The room list: rooms and DMs in separate sections, each sorted by activity. */
export function buildRoomList(state: ClientState): { rooms: RoomListEntry[]; directs: RoomListEntry[] } {
  const direct = directRoomIds(state.accountData['m.direct'])
  const entries = Object.values(state.rooms).map((r) => roomListEntry(state, r, direct))
  const sorted = sortRoomEntries(entries)
  return { rooms: sorted.filter((e) => !e.isDirect), directs: sorted.filter((e) => e.isDirect) }
}

export interface InviteEntry {
  roomId: string
  name: string
  inviter?: string
  inviterName?: string
  isDirect: boolean
}

export function inviteEntry(invite: InviteState, userId: string): InviteEntry {
  const me = strippedState(invite.events, 'm.room.member', userId)
  const inviter = me?.sender
  const inviterMember = inviter ? strippedState(invite.events, 'm.room.member', inviter) : undefined
  const inviterName = inviter ? str(inviterMember?.content.displayname) || localpart(inviter) : undefined
  const isDirect = me?.content.is_direct === true
  const name =
    str(strippedState(invite.events, 'm.room.name')?.content.name)?.trim() ||
    str(strippedState(invite.events, 'm.room.canonical_alias')?.content.alias) ||
    (isDirect && inviterName) ||
    inviterName ||
    invite.roomId
  return { roomId: invite.roomId, name, inviter, inviterName, isDirect }
}

export function buildInviteList(state: ClientState): InviteEntry[] {
  return Object.values(state.invites)
    .map((i) => inviteEntry(i, state.userId))
    .sort((a, b) => a.name.localeCompare(b.name))
}

