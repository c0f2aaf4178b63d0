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
  /** Messages from others since the user last opened the room (client-side). */
  unread: number
  /** origin_server_ts of the newest timeline event (0 when unknown). */
  lastActivityTs: number
  /** Per-room account data (type → content). */
  accountData: Record<string, JsonObject>
}

export interface InviteState {
  roomId: string
  events: StrippedStateEvent[]
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
  /** roomId → origin_server_ts of the newest event seen when the room was last open. */
  readMarkers: Record<string, number>
  nextBatch: string | null
  /** True once the first sync response has been applied. */
  synced: boolean
}

export function emptyClientState(userId: string, readMarkers: Record<string, number> = {}): ClientState {
  return {
    userId,
    rooms: {},
    invites: {},
    accountData: {},
    echoes: [],
    readMarkers,
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
    unread: 0,
    lastActivityTs: 0,
    accountData: {},
  }
}
