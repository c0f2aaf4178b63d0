import type { JsonObject, MatrixEvent, StrippedStateEvent } from '../api/types'

/** Current room state: event type → state key → event. */
export type StateMap = Record<string, Record<string, MatrixEvent>>

export interface RoomSummary {
  heroes?: string[]
  joinedMemberCount?: number
  invitedMemberCount?: number
}

export interface RoomState {
  roomId: string
  state: StateMap
  /** Known timeline, oldest first, without duplicates. */
  timeline: MatrixEvent[]
  /**
   * Token to load older history from (`from` of /messages with dir=b).
   * `null` once the start of the room has been reached.
   */
  prevBatch: string | null
  summary: RoomSummary
  /** `unread_notifications.notification_count` as last sent by the server. */
  notificationCount: number
  /** `unread_notifications.highlight_count` (mentions) as last sent by the server. */
  highlightCount: number
  /** Users typing right now (from the latest `m.typing` event), in server order. */
  typing: string[]
  /** Latest public read receipt (`m.read`) of each member; ours may be private. */
  receipts: Record<string, Receipt>
  /** origin_server_ts of the newest timeline event (0 when unknown). */
  lastActivityTs: number
  /** Per-room account data (type → content). */
  accountData: Record<string, JsonObject>
}

export interface InviteState {
  roomId: string
  events: StrippedStateEvent[]
}

export interface Receipt {
  eventId: string
  ts: number
}

export type PresenceState = 'online' | 'unavailable' | 'offline'

export interface PresenceInfo {
  presence: PresenceState
  /** Date.now() minus `last_active_ago` when the event was received (0 = unknown). */
  lastActiveTs: number
  currentlyActive: boolean
  statusMsg?: string
}

export type EchoStatus = 'pending' | 'sent' | 'failed'

/** A message sent from this device, shown before the server has confirmed it. */
export interface LocalEcho {
  txnId: string
  roomId: string
  type: string
  content: JsonObject
  status: EchoStatus
  /** Set once the server answered the send request. */
  eventId?: string
  error?: string
  /** When the user pressed send (ms since epoch). */
  createdTs: number
  /** Number of send attempts made so far. */
  attempts: number
}

export interface ClientState {
  userId: string
  rooms: Record<string, RoomState>
  invites: Record<string, InviteState>
  /** Global account data (type → content), e.g. `m.direct`. */
  accountData: Record<string, JsonObject>
  /** Local echoes in the order they were created. */
  echoes: LocalEcho[]
  /** Presence of the users we share rooms with (and our own), by user id. */
  presence: Record<string, PresenceInfo>
  nextBatch: string | null
  /** True once the first sync response has been applied. */
  synced: boolean
}

export function emptyClientState(userId: string): ClientState {
  return {
    userId,
    rooms: {},
    invites: {},
    accountData: {},
    echoes: [],
    presence: {},
    nextBatch: null,
    synced: false,
  }
}

export function emptyRoom(roomId: string): RoomState {
  return {
    roomId,
    state: {},
    timeline: [],
    prevBatch: null,
    summary: {},
    notificationCount: 0,
    highlightCount: 0,
    typing: [],
    receipts: {},
    lastActivityTs: 0,
    accountData: {},
  }
}
