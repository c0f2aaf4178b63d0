import type { JoinedRoomSync, MatrixEvent, SyncResponse } from '../api/types'
import { reconcileEchoes } from './echo'
import { applyStateEvents } from './events'
import { applyPresence, applyRoomEphemeral } from './ephemeral'
import { applyRedactions } from './relations'
import { appendLive } from './timeline'
import type { ClientState, RoomState } from './types'
import { emptyRoom } from './types'

/**
 * Applies one `/sync` response to the client state (pure: returns a new
 * state, leaving the old one untouched).
 *
 * - `rooms.leave`: the room and any invite disappear (with their echoes).
 * - `rooms.invite`: the invite is recorded (a joined room of that id is dropped).
 * - `rooms.join`: the invite (if any) is replaced by a joined room; state and
 *   timeline are applied, a `limited` timeline replaces the known one (there is
 *   a gap) and history is loaded again from its `prev_batch`.
 */
export function applySync(state: ClientState, resp: SyncResponse, now: number = Date.now()): ClientState {
  let { rooms, invites, echoes, accountData } = state
  const own = <T extends object>(obj: T, orig: T): T => (obj === orig ? ({ ...obj } as T) : obj)

  for (const ev of resp.account_data?.events ?? []) {
    if (!ev || typeof ev.type !== 'string') continue
    accountData = own(accountData, state.accountData)
    accountData[ev.type] = ev.content ?? {}
  }

  for (const roomId of Object.keys(resp.rooms?.leave ?? {})) {
    if (roomId in rooms) {
      rooms = own(rooms, state.rooms)
      delete rooms[roomId]
    }
    if (roomId in invites) {
      invites = own(invites, state.invites)
      delete invites[roomId]
    }
    if (echoes.some((e) => e.roomId === roomId)) echoes = echoes.filter((e) => e.roomId !== roomId)
  }

  for (const [roomId, inv] of Object.entries(resp.rooms?.invite ?? {})) {
    invites = own(invites, state.invites)
    invites[roomId] = { roomId, events: inv.invite_state?.events ?? [] }
    if (roomId in rooms) {
      rooms = own(rooms, state.rooms)
      delete rooms[roomId]
    }
  }

  for (const [roomId, joined] of Object.entries(resp.rooms?.join ?? {})) {
    if (roomId in invites) {
      invites = own(invites, state.invites)
      delete invites[roomId]
    }
    const before = rooms[roomId] ?? emptyRoom(roomId)
    const after = applyJoinedRoom(before, joined, state.userId)
    if (after !== rooms[roomId]) {
      rooms = own(rooms, state.rooms)
      rooms[roomId] = after
    }
    echoes = reconcileEchoes(echoes, roomId, joined.timeline?.events ?? [])
  }

  const presence = applyPresence(state.presence, resp.presence?.events ?? [], now)

  return { ...state, rooms, invites, echoes, accountData, presence, nextBatch: resp.next_batch, synced: true }
}

/** Applies the joined-room section of a sync response to one room. */
export function applyJoinedRoom(room: RoomState, joined: JoinedRoomSync, userId: string): RoomState {
  const tlEvents = (joined.timeline?.events ?? []).filter(isEventLike)
  const stateEvents = (joined.state?.events ?? []).filter(isEventLike)

  let timeline: MatrixEvent[]
  let prevBatch = room.prevBatch
  let added: MatrixEvent[]
  const reset = joined.timeline?.limited === true || room.timeline.length === 0
  if (reset && tlEvents.length > 0) {
    // A gap (or first sight of the room): start a fresh live timeline and
    // load older history from its prev_batch on demand.
    timeline = appendLive([], tlEvents)
    prevBatch = joined.timeline?.prev_batch ?? null
    const known = new Set(room.timeline.map((e) => e.event_id))
    added = timeline.filter((e) => !known.has(e.event_id))
  } else if (room.timeline.length === 0) {
    timeline = room.timeline
    if (joined.timeline?.prev_batch) prevBatch = joined.timeline.prev_batch
    added = []
  } else {
    timeline = appendLive(room.timeline, tlEvents)
    added = timeline.slice(room.timeline.length)
  }
  // Redactions strip their targets (already-known events included).
  timeline = applyRedactions(timeline, added)

  let roomState = applyStateEvents(room.state, stateEvents)
  roomState = applyStateEvents(roomState, tlEvents)

  const summary = joined.summary
    ? {
        heroes: joined.summary['m.heroes'] ?? room.summary.heroes,
        joinedMemberCount: joined.summary['m.joined_member_count'] ?? room.summary.joinedMemberCount,
        invitedMemberCount: joined.summary['m.invited_member_count'] ?? room.summary.invitedMemberCount,
      }
    : room.summary

  let accountData = room.accountData
  for (const ev of joined.account_data?.events ?? []) {
    if (accountData === room.accountData) accountData = { ...accountData }
    accountData[ev.type] = ev.content ?? {}
  }

  let lastActivityTs = room.lastActivityTs
  for (const e of added) if (e.origin_server_ts > lastActivityTs) lastActivityTs = e.origin_server_ts

  const counts = joined.unread_notifications
  const notificationCount = count(counts?.notification_count, room.notificationCount)
  const highlightCount = count(counts?.highlight_count, room.highlightCount)

  if (
    timeline === room.timeline &&
    roomState === room.state &&
    prevBatch === room.prevBatch &&
    summary === room.summary &&
    accountData === room.accountData &&
    notificationCount === room.notificationCount &&
    highlightCount === room.highlightCount &&
    lastActivityTs === room.lastActivityTs
  ) {
    return applyRoomEphemeral(room, joined.ephemeral?.events ?? [], userId)
  }
  const updated = {
    ...room,
    timeline,
    prevBatch,
    state: roomState,
    summary,
    accountData,
    lastActivityTs,
    notificationCount,
    highlightCount,
  }
  return applyRoomEphemeral(updated, joined.ephemeral?.events ?? [], userId)
}

function count(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : fallback
}

function isEventLike(e: unknown): e is MatrixEvent {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as MatrixEvent).event_id === 'string' &&
    typeof (e as MatrixEvent).type === 'string'
  )
}
