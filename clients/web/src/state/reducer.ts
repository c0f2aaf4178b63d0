import type { JsonObject, MatrixEvent, SyncResponse } from '../api/types'
import { createEcho, discardEcho, markEchoFailed, markEchoSent, reconcileEchoes, retryEcho } from './echo'
import { applyStateEvents } from './events'
import { applySync } from './sync'
import { applyPresence, applyReceipts } from './ephemeral'
import { applyRedactions } from './relations'
import { mergeHistory } from './timeline'
import type { ClientState } from './types'

export type Action =
  | { type: 'sync'; response: SyncResponse; now?: number }
  | {
      type: 'history'
      roomId: string
      /** The token the page was requested with. */
      from: string
      chunk: MatrixEvent[]
      /** `end` of the /messages response; absent = no more history. */
      end?: string
      state?: MatrixEvent[]
    }
  | { type: 'echo/queue'; roomId: string; txnId: string; eventType: string; content: JsonObject; now: number }
  | { type: 'echo/sent'; txnId: string; eventId: string }
  | { type: 'echo/failed'; txnId: string; error: string }
  | { type: 'echo/retry'; txnId: string }
  | { type: 'echo/discard'; txnId: string }
  /** We read `roomId` up to `eventId`: our receipt moves there and the room's counts drop to 0 until the server says otherwise. */
  | { type: 'markRead'; roomId: string; eventId: string; now: number }
  | { type: 'accountData'; eventType: string; content: JsonObject }
  /** Presence fetched with GET /presence (used only while sync has told us nothing about the user). */
  | { type: 'presence/fetched'; userId: string; content: JsonObject; now: number }
  | { type: 'inviteGone'; roomId: string }
  | { type: 'roomGone'; roomId: string }

export function reduce(state: ClientState, action: Action): ClientState {
  switch (action.type) {
    case 'sync':
      return applySync(state, action.response, action.now)

    case 'history': {
      const room = state.rooms[action.roomId]
      // A page requested with a token the room no longer uses (the timeline was
      // reset by a limited sync meanwhile) belongs to another timeline: drop it.
      if (!room || room.prevBatch !== action.from) return state
      const timeline = applyRedactions(mergeHistory(room.timeline, action.chunk), action.chunk)
      const prevBatch = action.end && action.end !== action.from ? action.end : null
      // Members of old events (lazy-loaded) only fill in gaps in current state.
      let roomState = room.state
      const missing = (action.state ?? []).filter(
        (e) => typeof e.state_key === 'string' && !room.state[e.type]?.[e.state_key],
      )
      if (missing.length) roomState = applyStateEvents(room.state, missing)
      return {
        ...state,
        rooms: { ...state.rooms, [action.roomId]: { ...room, timeline, prevBatch, state: roomState } },
      }
    }

    case 'echo/queue':
      return {
        ...state,
        echoes: [...state.echoes, createEcho(action.roomId, action.txnId, action.eventType, action.content, action.now)],
      }

    case 'echo/sent': {
      let echoes = markEchoSent(state.echoes, action.txnId, action.eventId)
      // The event may already be in the timeline (sync came first without a transaction id).
      const echo = echoes.find((e) => e.txnId === action.txnId)
      const room = echo && state.rooms[echo.roomId]
      if (echo && room) echoes = reconcileEchoes(echoes, echo.roomId, room.timeline.slice(-50))
      return echoes === state.echoes ? state : { ...state, echoes }
    }

    case 'echo/failed': {
      const echoes = markEchoFailed(state.echoes, action.txnId, action.error)
      return echoes === state.echoes ? state : { ...state, echoes }
    }

    case 'echo/retry': {
      const echoes = retryEcho(state.echoes, action.txnId)
      return echoes === state.echoes ? state : { ...state, echoes }
    }

    case 'echo/discard': {
      const echoes = discardEcho(state.echoes, action.txnId)
      return echoes === state.echoes ? state : { ...state, echoes }
    }

    case 'markRead': {
      const room = state.rooms[action.roomId]
      if (!room) return state
      const receipts = applyReceipts(
        room.receipts,
        [{ type: 'm.receipt', content: { [action.eventId]: { 'm.read': { [state.userId]: { ts: action.now } } } } }],
        state.userId,
        room.timeline,
      )
      if (receipts === room.receipts && room.notificationCount === 0 && room.highlightCount === 0) return state
      return {
        ...state,
        rooms: { ...state.rooms, [action.roomId]: { ...room, receipts, notificationCount: 0, highlightCount: 0 } },
      }
    }

    case 'presence/fetched': {
      if (state.presence[action.userId]) return state
      const presence = applyPresence(state.presence, [{ type: 'm.presence', sender: action.userId, content: action.content }], action.now)
      return presence === state.presence ? state : { ...state, presence }
    }

    case 'accountData':
      return { ...state, accountData: { ...state.accountData, [action.eventType]: action.content } }

    case 'inviteGone': {
      if (!(action.roomId in state.invites)) return state
      const invites = { ...state.invites }
      delete invites[action.roomId]
      return { ...state, invites }
    }

    case 'roomGone': {
      if (!(action.roomId in state.rooms)) return state
      const rooms = { ...state.rooms }
      delete rooms[action.roomId]
      return { ...state, rooms, echoes: state.echoes.filter((e) => e.roomId !== action.roomId) }
    }
  }
}
