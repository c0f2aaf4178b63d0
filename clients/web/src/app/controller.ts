import type { MatrixClient } from '../api/client'
import { describeError, isAuthError } from '../api/errors'
import type { JsonObject, PublicRoom, RoomPreset, UserSearchResult } from '../api/types'
import { addDirectRoom, existingDirectRooms } from '../state/dm'
import { newTxnId } from '../state/echo'
import { strippedState } from '../state/events'
import type { Action } from '../state/reducer'
import { reduce } from '../state/reducer'
import { createStore, type Store } from '../state/store'
import type { ClientState } from '../state/types'
import { emptyClientState } from '../state/types'
import { loadReadMarkers, saveReadMarkers } from '../state/unread'
import { HttpSyncTransport } from '../sync/httpTransport'
import { SyncLoop, type SyncStatus } from '../sync/loop'
import type { SyncTransport } from '../sync/transport'

export interface CreateRoomOptions {
  name: string
  topic?: string
  isPublic: boolean
  alias?: string
}

/**
 * Glue between the API client, the pure state store and the sync loop: the
 * React tree calls these methods and reads the stores; nothing here renders.
 */
export class ChatController {
  readonly store: Store<ClientState, Action>
  readonly syncStatus: Store<SyncStatus, SyncStatus>
  readonly client: MatrixClient
  readonly userId: string
  private readonly loop: SyncLoop
  private readonly historyInFlight = new Set<string>()
  private readonly onSessionEnded: (reason: string) => void
  private unsubscribeMarkers: (() => void) | null = null
  private markerTimer: ReturnType<typeof setTimeout> | null = null

  constructor(opts: {
    client: MatrixClient
    userId: string
    onSessionEnded: (reason: string) => void
    transport?: SyncTransport
  }) {
    this.client = opts.client
    this.userId = opts.userId
    this.onSessionEnded = opts.onSessionEnded
    this.store = createStore(reduce, emptyClientState(opts.userId, loadReadMarkers(opts.userId)))
    this.syncStatus = createStore<SyncStatus, SyncStatus>((_, s) => s, { state: 'connecting' })
    this.loop = new SyncLoop({
      transport: opts.transport ?? new HttpSyncTransport(opts.client),
      onBatch: (response) => this.store.dispatch({ type: 'sync', response }),
      onStatus: (s) => this.syncStatus.dispatch(s),
      onFatal: (e) => this.onSessionEnded(isAuthError(e) ? 'Your session has ended. Please sign in again.' : describeError(e)),
    })
  }

  start(): void {
    this.loop.start()
    let lastMarkers = this.store.getState().readMarkers
    this.unsubscribeMarkers = this.store.subscribe(() => {
      const markers = this.store.getState().readMarkers
      if (markers === lastMarkers) return
      lastMarkers = markers
      if (this.markerTimer !== null) clearTimeout(this.markerTimer)
      this.markerTimer = setTimeout(() => saveReadMarkers(this.userId, markers), 500)
    })
  }

  stop(): void {
    this.loop.stop()
    this.unsubscribeMarkers?.()
    this.unsubscribeMarkers = null
    if (this.markerTimer !== null) {
      clearTimeout(this.markerTimer)
      this.markerTimer = null
      saveReadMarkers(this.userId, this.store.getState().readMarkers)
    }
  }

  retrySyncNow(): void {
    this.loop.retryNow()
  }

  // ---- Messages --------------------------------------------------------

  sendText(roomId: string, body: string): string {
    const txnId = newTxnId()
    this.store.dispatch({
      type: 'echo/queue',
      roomId,
      txnId,
      eventType: 'm.room.message',
      content: { msgtype: 'm.text', body },
      now: Date.now(),
    })
    void this.transmit(txnId)
    return txnId
  }

  /** Retries a failed message with the same transaction id (the server dedupes it). */
  retry(txnId: string): void {
    this.store.dispatch({ type: 'echo/retry', txnId })
    void this.transmit(txnId)
  }

  discard(txnId: string): void {
    this.store.dispatch({ type: 'echo/discard', txnId })
  }

  private async transmit(txnId: string): Promise<void> {
    const echo = this.store.getState().echoes.find((e) => e.txnId === txnId)
    if (!echo || echo.status !== 'pending') return
    try {
      const { event_id } = await this.client.sendEvent(echo.roomId, echo.type, txnId, echo.content)
      this.store.dispatch({ type: 'echo/sent', txnId, eventId: event_id })
    } catch (e) {
      this.store.dispatch({ type: 'echo/failed', txnId, error: describeError(e) })
      if (isAuthError(e)) this.onSessionEnded('Your session has ended. Please sign in again.')
    }
  }

  /** Loads one page of older history for a room (no-op when one is already loading). */
  async loadOlder(roomId: string): Promise<void> {
    const room = this.store.getState().rooms[roomId]
    const from = room?.prevBatch
    if (!room || !from || this.historyInFlight.has(roomId)) return
    this.historyInFlight.add(roomId)
    try {
      const res = await this.client.messages(roomId, { from, dir: 'b', limit: 30 })
      this.store.dispatch({
        type: 'history',
        roomId,
        from,
        chunk: Array.isArray(res.chunk) ? res.chunk : [],
        end: res.end,
        state: res.state,
      })
    } finally {
      this.historyInFlight.delete(roomId)
    }
  }

  markRead(roomId: string): void {
    this.store.dispatch({ type: 'markRead', roomId })
  }

  // ---- Rooms -----------------------------------------------------------

  async createRoom(opts: CreateRoomOptions): Promise<string> {
    const preset: RoomPreset = opts.isPublic ? 'public_chat' : 'private_chat'
    const res = await this.client.createRoom({
      name: opts.name.trim() || undefined,
      topic: opts.topic?.trim() || undefined,
      preset,
      visibility: opts.isPublic ? 'public' : 'private',
      room_alias_name: opts.alias?.trim() || undefined,
    })
    return res.room_id
  }

  async joinRoom(roomIdOrAlias: string): Promise<string> {
    const res = await this.client.joinRoom(roomIdOrAlias.trim())
    return res.room_id
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.client.leaveRoom(roomId)
    this.store.dispatch({ type: 'roomGone', roomId })
  }

  async acceptInvite(roomId: string): Promise<string> {
    const invite = this.store.getState().invites[roomId]
    const res = await this.client.joinRoom(roomId)
    this.store.dispatch({ type: 'inviteGone', roomId })
    const me = invite ? strippedState(invite.events, 'm.room.member', this.userId) : undefined
    if (me && me.content.is_direct === true && me.sender !== this.userId) {
      await this.recordDirect(me.sender, res.room_id).catch(() => undefined)
    }
    return res.room_id
  }

  async declineInvite(roomId: string): Promise<void> {
    await this.client.leaveRoom(roomId)
    this.store.dispatch({ type: 'inviteGone', roomId })
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.client.invite(roomId, userId)
  }

  /** Opens the existing DM with `userId`, or creates one (is_direct + invite) and records it in m.direct. */
  async startDirect(userId: string): Promise<string> {
    const state = this.store.getState()
    const existing = existingDirectRooms(state.accountData['m.direct'], userId, Object.keys(state.rooms))
    if (existing.length > 0) return existing[0]
    const res = await this.client.createRoom({
      preset: 'trusted_private_chat',
      is_direct: true,
      invite: [userId],
      visibility: 'private',
    })
    await this.recordDirect(userId, res.room_id)
    return res.room_id
  }

  /** Adds a room to m.direct, starting from the server's latest copy so other devices' edits survive. */
  private async recordDirect(userId: string, roomId: string): Promise<void> {
    let current: JsonObject | undefined
    try {
      current = await this.client.getAccountData<JsonObject>(this.userId, 'm.direct')
    } catch {
      current = this.store.getState().accountData['m.direct']
    }
    const next = addDirectRoom(current, userId, roomId)
    this.store.dispatch({ type: 'accountData', eventType: 'm.direct', content: next })
    await this.client.setAccountData(this.userId, 'm.direct', next)
  }

  searchUsers(term: string, signal?: AbortSignal): Promise<UserSearchResult[]> {
    return this.client.searchUsers(term, 20, signal).then((r) => (Array.isArray(r.results) ? r.results : []))
  }

  publicRooms(): Promise<PublicRoom[]> {
    return this.client.publicRooms({ limit: 50 }).then((r) => (Array.isArray(r.chunk) ? r.chunk : []))
  }

  async logout(): Promise<void> {
    this.stop()
    await this.client.logout()
  }
}
