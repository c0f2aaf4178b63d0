import type { MatrixClient } from '../api/client'
import { describeError, isAuthError, isMatrixError, NetworkError } from '../api/errors'
import type { JsonObject, PublicRoom, RoomPreset, UserSearchResult } from '../api/types'
import { addDirectRoom, existingDirectRooms, parseDirect } from '../state/dm'
import { newTxnId } from '../state/echo'
import { memberName, membershipOf, str, strippedState } from '../state/events'
import { checkContentSize } from '../state/limits'
import { parseSearchResponse, searchRequest, type SearchPage } from '../state/search'
import { notificationsFor } from '../state/notify'
import { muteRuleBody, muteRulesFor, withRoomMuted } from '../state/pushRules'
import { browserPushEnvironment, WebPush, type PushEnvironment } from '../push/webPush'
import type { Action } from '../state/reducer'
import { reduce } from '../state/reducer'
import { createStore, type Store } from '../state/store'
import type { ClientState } from '../state/types'
import { emptyClientState } from '../state/types'
import { backoffDelay } from '../sync/backoff'
import { DEFAULT_FILTER, HttpSyncTransport } from '../sync/httpTransport'
import { SyncLoop, type SyncStatus } from '../sync/loop'
import { RealtimeTransport, type TransportMode } from '../sync/realtime'
import type { SyncTransport } from '../sync/transport'
import { streamUrl, WsSyncTransport, type SocketFactory, type SocketLike, type StreamConnection } from '../sync/wsTransport'
import { uploadFile, type UploadOptions } from '../api/media'
import { mediaContent, uploadRefusal } from '../state/media'
import { MediaCache } from './mediaCache'
import { registerServiceWorker, type Notifier } from './notifications'
import { TypingNotifier } from './typingNotifier'
import { UploadQueue } from './uploads'

export interface CreateRoomOptions {
  name: string
  topic?: string
  isPublic: boolean
  alias?: string
}

export interface Member {
  userId: string
  displayName: string
}

/** Network failures of one send before it is shown as failed (it is retried in between). */
const MAX_SEND_NETWORK_FAILURES = 6
/** A jump to a search result loads at most this much older history (pages of REVEAL_PAGE_SIZE). */
const MAX_REVEAL_PAGES = 100
const REVEAL_PAGE_SIZE = 100
/** Senders' clocks differ: history older than the event by this much means it is not coming. */
const REVEAL_CLOCK_SLACK_MS = 5 * 60_000

export interface ChatControllerOptions {
  client: MatrixClient
  userId: string
  onSessionEnded: (reason: string) => void
  /** Use this transport instead of the socket / long-poll pair (tests). */
  transport?: SyncTransport
  /** How to open WebSockets; null = long-poll only. Defaults to the browser's WebSocket. */
  socketFactory?: SocketFactory | null
  /** URL of the sync stream (default: derived from the client's base URL). */
  streamUrl?: string
  /** Browser notifications (none by default). */
  notifier?: Notifier
  /** Back-off of the sync loop. */
  backoff?: { initialMs: number; maxMs: number; factor: number }
  /** Web Push on this device (default: the browser's; null: none). */
  pushEnvironment?: PushEnvironment | null
}

export interface ActivityState {
  /** A message was sent or received during this session (when to offer notifications). */
  chatted: boolean
  /** Which transport carries sync right now. */
  transport: TransportMode
}

/** The other person of each DM, once they have joined it. */
function joinedDmPartners(state: ClientState): string[] {
  const out: string[] = []
  for (const [userId, roomIds] of Object.entries(parseDirect(state.accountData['m.direct']))) {
    if (roomIds.some((r) => membershipOf(state.rooms[r]?.state ?? {}, userId) === 'join')) out.push(userId)
  }
  return out
}

function defaultSocketFactory(): SocketFactory | null {
  if (typeof WebSocket === 'undefined') return null
  return (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike
}

/**
 * Glue between the API client, the pure state store and the sync loop: the
 * React tree calls these methods and reads the stores; nothing here renders.
 *
 * Sync runs over the WebSocket stream when it connects (long-poll otherwise,
 * see RealtimeTransport). Sends, typing and receipts go over the socket
 * while it is up, over HTTP otherwise. A send that fails for network
 * reasons stays pending and is sent again — with the same transaction id,
 * so the server never stores it twice — when the connection is back.
 */
export class ChatController {
  readonly store: Store<ClientState, Action>
  readonly syncStatus: Store<SyncStatus, SyncStatus>
  readonly activity: Store<ActivityState, Partial<ActivityState>>
  readonly client: MatrixClient
  readonly userId: string
  /** Web Push on this device: the settings switch, the subscription and its pusher. */
  readonly push: WebPush
  /** Authenticated media (avatars, thumbnails, files) as object URLs. */
  readonly media: MediaCache
  /** Files being sent, in every room (they outlive the room's view). */
  readonly uploads: UploadQueue
  private uploadLimit: Promise<number | null> | null = null
  private readonly loop: SyncLoop
  private readonly ws: WsSyncTransport | null = null
  private readonly historyInFlight = new Set<string>()
  private readonly onSessionEnded: (reason: string) => void
  private readonly notifier: Notifier | null
  private readonly inFlight = new Set<string>()
  private readonly networkFailures = new Map<string, number>()
  private readonly typingNotifiers = new Map<string, TypingNotifier>()
  private flushTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private unsubscribeTokens: (() => void) | null = null

  constructor(opts: ChatControllerOptions) {
    this.client = opts.client
    this.userId = opts.userId
    this.onSessionEnded = opts.onSessionEnded
    this.notifier = opts.notifier ?? null
    this.push = new WebPush({
      api: opts.client,
      userId: opts.userId,
      env: opts.pushEnvironment === undefined ? browserPushEnvironment(registerServiceWorker) : opts.pushEnvironment,
    })
    this.media = new MediaCache(opts.client)
    this.uploads = new UploadQueue({
      refusal: (size) => this.uploadRefusal(size),
      send: (roomId, file, o) => this.sendFile(roomId, file, o),
    })
    this.store = createStore(reduce, emptyClientState(opts.userId))
    this.syncStatus = createStore<SyncStatus, SyncStatus>((_, s) => s, { state: 'connecting' })
    this.activity = createStore<ActivityState, Partial<ActivityState>>(
      (s, patch) => (Object.entries(patch).every(([k, v]) => s[k as keyof ActivityState] === v) ? s : { ...s, ...patch }),
      { chatted: false, transport: 'http' },
    )

    let transport = opts.transport
    if (!transport) {
      const http = new HttpSyncTransport(opts.client)
      const factory = opts.socketFactory === undefined ? defaultSocketFactory() : opts.socketFactory
      if (factory && opts.client.accessToken) {
        this.ws = new WsSyncTransport({
          factory,
          url: opts.streamUrl ?? streamUrl(opts.client.baseUrl),
          // Asked at every connection: an OAuth session's token changes as it is refreshed.
          accessToken: () => opts.client.getAccessToken(),
          refreshToken: opts.client.tokens ? (rejected) => opts.client.tokens!.refreshAfter(rejected) : undefined,
          filter: JSON.parse(DEFAULT_FILTER) as JsonObject,
          onConnected: (conn) => {
            this.activity.dispatch({ transport: 'ws' })
            this.sendFocus(conn)
            this.flushPending()
          },
        })
        transport = new RealtimeTransport({
          ws: this.ws,
          http,
          onModeChange: (mode) => this.activity.dispatch({ transport: mode }),
        })
      } else {
        transport = http
      }
    }

    this.loop = new SyncLoop({
      transport,
      backoff: opts.backoff,
      onBatch: (response) => this.applyBatch(response),
      onStatus: (s) => {
        const was = this.syncStatus.getState().state
        this.syncStatus.dispatch(s)
        if (s.state === 'online' && was !== 'online') this.flushPending()
      },
      onFatal: (e) => this.onSessionEnded(isAuthError(e) ? 'Your session has ended. Please sign in again.' : describeError(e)),
    })
  }

  start(): void {
    this.stopped = false
    // A refreshed token: the stream reconnects with it (resuming where it was).
    this.unsubscribeTokens ??= this.client.tokens?.onRefresh?.(() => this.ws?.reauthenticate()) ?? null
    this.loop.start()
    void this.loadPushRules()
    void this.push.load()
  }

  stop(): void {
    this.stopped = true
    this.unsubscribeTokens?.()
    this.unsubscribeTokens = null
    this.loop.stop()
    for (const t of this.typingNotifiers.values()) t.dispose()
    this.typingNotifiers.clear()
    this.media.clear()
    this.uploads.abortAll()
    if (this.flushTimer !== null) clearTimeout(this.flushTimer)
    this.flushTimer = null
  }

  retrySyncNow(): void {
    this.loop.retryNow()
  }

  private applyBatch(response: Parameters<typeof notificationsFor>[2]): void {
    const before = this.store.getState()
    this.store.dispatch({ type: 'sync', response, now: Date.now() })
    const after = this.store.getState()
    this.ensurePresence(joinedDmPartners(after))
    if (!before.synced) return
    const news = Object.values(response.rooms?.join ?? {}).some((r) =>
      (r.timeline?.events ?? []).some((e) => e?.type === 'm.room.message'),
    )
    if (news) this.activity.dispatch({ chatted: true })
    // With Web Push on this device, the server's pushes notify (the page would only repeat them).
    if (this.notifier && !this.notifier.attended() && this.push.status !== 'on') {
      for (const payload of notificationsFor(before, after, response)) this.notifier.show(payload)
    }
  }

  // ---- Messages --------------------------------------------------------

  sendText(roomId: string, body: string): string {
    return this.sendMessage(roomId, { msgtype: 'm.text', body })
  }

  /**
   * Queues an `m.room.message` and sends it; returns its transaction id.
   * Throws MessageTooLargeError (nothing queued) for content the server
   * would refuse for its size.
   */
  sendMessage(roomId: string, content: JsonObject): string {
    return this.queueEvent(roomId, 'm.room.message', content)
  }

  /** Reacts to a message with `key` (an `m.annotation`); shown at once, sent like a message. */
  react(roomId: string, eventId: string, key: string): string {
    return this.queueEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } })
  }

  /** Takes my reaction back (redacts it). */
  async unreact(roomId: string, reactionEventId: string): Promise<void> {
    await this.client.redact(roomId, reactionEventId, newTxnId())
  }

  private queueEvent(roomId: string, eventType: string, content: JsonObject): string {
    checkContentSize(content)
    const txnId = newTxnId()
    this.store.dispatch({
      type: 'echo/queue',
      roomId,
      txnId,
      eventType,
      content,
      now: Date.now(),
    })
    this.activity.dispatch({ chatted: true })
    this.typingNotifiers.get(roomId)?.stop()
    void this.transmit(txnId)
    return txnId
  }

  /** Retries a failed message with the same transaction id (the server dedupes it). */
  retry(txnId: string): void {
    this.networkFailures.delete(txnId)
    this.store.dispatch({ type: 'echo/retry', txnId })
    void this.transmit(txnId)
  }

  /** Deletes a sent message for everyone (a redaction); the timeline shows it once sync brings it. */
  async deleteMessage(roomId: string, eventId: string): Promise<void> {
    await this.client.redact(roomId, eventId, newTxnId())
  }

  discard(txnId: string): void {
    this.networkFailures.delete(txnId)
    this.store.dispatch({ type: 'echo/discard', txnId })
  }

  /** Sends every pending message that is not on its way already (after a reconnect). */
  flushPending(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer)
    this.flushTimer = null
    for (const echo of this.store.getState().echoes) {
      if (echo.status === 'pending' && !this.inFlight.has(echo.txnId)) void this.transmit(echo.txnId)
    }
  }

  private scheduleFlush(delayMs: number): void {
    if (this.stopped) return
    if (this.flushTimer !== null) clearTimeout(this.flushTimer)
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      this.flushPending()
    }, delayMs)
  }

  private async transmit(txnId: string): Promise<void> {
    const echo = this.store.getState().echoes.find((e) => e.txnId === txnId)
    if (!echo || echo.status !== 'pending' || this.inFlight.has(txnId) || this.stopped) return
    this.inFlight.add(txnId)
    try {
      const conn = this.ws?.connection
      let eventId: string
      if (conn) {
        const answer = await conn.request({
          type: 'send',
          room_id: echo.roomId,
          txn_id: txnId,
          event_type: echo.type,
          content: echo.content,
        })
        eventId = String(answer.event_id)
      } else {
        eventId = (await this.client.sendEvent(echo.roomId, echo.type, txnId, echo.content)).event_id
      }
      this.networkFailures.delete(txnId)
      this.store.dispatch({ type: 'echo/sent', txnId, eventId })
    } catch (e) {
      if (e instanceof NetworkError) {
        // Still pending: sent again (same txn id) on reconnect or after a pause.
        const n = (this.networkFailures.get(txnId) ?? 0) + 1
        this.networkFailures.set(txnId, n)
        if (n >= MAX_SEND_NETWORK_FAILURES) {
          this.networkFailures.delete(txnId)
          this.store.dispatch({ type: 'echo/failed', txnId, error: describeError(e) })
        } else {
          this.scheduleFlush(backoffDelay(n))
        }
      } else {
        this.networkFailures.delete(txnId)
        this.store.dispatch({ type: 'echo/failed', txnId, error: describeError(e) })
        if (isAuthError(e)) {
          this.onSessionEnded('Your session has ended. Please sign in again.')
        } else {
          this.endTypingAfterFailedSend(echo.roomId)
        }
      }
    } finally {
      this.inFlight.delete(txnId)
    }
  }

  /** Loads one page of older history for a room (no-op when one is already loading). */
  async loadOlder(roomId: string, limit = 30): Promise<void> {
    const room = this.store.getState().rooms[roomId]
    const from = room?.prevBatch
    if (!room || !from || this.historyInFlight.has(roomId)) return
    this.historyInFlight.add(roomId)
    try {
      const res = await this.client.messages(roomId, { from, dir: 'b', limit })
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

  // ---- Files -------------------------------------------------------------

  /** The server's largest upload in bytes (`m.upload.size`; null: it does not say). Asked once. */
  maxUploadSize(): Promise<number | null> {
    this.uploadLimit ??= this.client
      .mediaConfig()
      .then((c) => (typeof c['m.upload.size'] === 'number' ? c['m.upload.size'] : null))
      .catch(() => {
        this.uploadLimit = null
        return null
      })
    return this.uploadLimit
  }

  /** Why this file can't be uploaded, checked before any byte is sent (null: it can). */
  async uploadRefusal(size: number): Promise<string | null> {
    return uploadRefusal(size, await this.maxUploadSize())
  }

  /** Uploads a file to the media repository; returns its mxc URI. */
  upload(file: Blob, name: string, opts: UploadOptions = {}): Promise<string> {
    return uploadFile(this.client, file, name, opts)
  }

  /**
   * Uploads a file and sends it to the room as m.image / m.video / m.audio /
   * m.file (with its size, type and, for images, dimensions).
   */
  async sendFile(
    roomId: string,
    file: File,
    opts: UploadOptions & { name?: string; dimensions?: { width: number; height: number } | null } = {},
  ): Promise<string> {
    const name = opts.name ?? file.name
    const refusal = await this.uploadRefusal(file.size)
    if (refusal) throw new Error(refusal)
    const uri = await this.upload(file, name, opts)
    const mimetype = file.type || 'application/octet-stream'
    return this.sendMessage(
      roomId,
      mediaContent({ name, mimetype, size: file.size, uri, width: opts.dimensions?.width, height: opts.dimensions?.height }),
    )
  }

  // ---- Profile and room settings --------------------------------------------

  async setDisplayName(name: string): Promise<void> {
    await this.client.setDisplayName(this.userId, name.trim())
  }

  /** Uploads a picture and makes it my avatar. */
  async setAvatar(file: File): Promise<void> {
    const refusal = await this.uploadRefusal(file.size)
    if (refusal) throw new Error(refusal)
    const uri = await this.upload(file, file.name)
    await this.client.setAvatarUrl(this.userId, uri)
  }

  async setRoomName(roomId: string, name: string): Promise<void> {
    await this.client.setRoomState(roomId, 'm.room.name', { name: name.trim() })
  }

  async setRoomTopic(roomId: string, topic: string): Promise<void> {
    await this.client.setRoomState(roomId, 'm.room.topic', { topic: topic.trim() })
  }

  async setRoomAvatar(roomId: string, file: File): Promise<void> {
    const refusal = await this.uploadRefusal(file.size)
    if (refusal) throw new Error(refusal)
    const uri = await this.upload(file, file.name)
    await this.client.setRoomState(roomId, 'm.room.avatar', { url: uri, info: { mimetype: file.type, size: file.size } })
  }

  /** One page of a message search, in one room or (roomId null) in all of mine. */
  async search(term: string, roomId: string | null, nextBatch?: string, signal?: AbortSignal): Promise<SearchPage> {
    return parseSearchResponse(await this.client.search(searchRequest(term, roomId), nextBatch, signal))
  }

  /**
   * Makes an event part of the room's loaded timeline (for a jump to a
   * search result): /context says whether it can be seen and when it was
   * sent, then older history is loaded until it is there. False when it
   * can't be reached.
   */
  async revealEvent(roomId: string, eventId: string, signal?: AbortSignal): Promise<boolean> {
    const has = () => this.store.getState().rooms[roomId]?.timeline.some((e) => e.event_id === eventId) ?? false
    if (has()) return true
    const { event } = await this.client.context(roomId, eventId, 0, signal)
    if (!event) return false
    for (let page = 0; page < MAX_REVEAL_PAGES && !has(); page++) {
      if (signal?.aborted) return false
      const room = this.store.getState().rooms[roomId]
      if (!room?.prevBatch) break
      const oldest = room.timeline[0]?.origin_server_ts
      if (oldest !== undefined && oldest < event.origin_server_ts - REVEAL_CLOCK_SLACK_MS) break
      await this.loadOlder(roomId, REVEAL_PAGE_SIZE)
      if (this.historyInFlight.has(roomId)) await new Promise((r) => setTimeout(r, 50))
    }
    return has()
  }

  // ---- Receipts and typing ------------------------------------------------

  /**
   * The newest event of the room is on screen (and the tab visible): our
   * read receipt moves there (sent once per event) and the room's counts drop.
   */
  markRead(roomId: string): void {
    const room = this.store.getState().rooms[roomId]
    const last = room?.timeline[room.timeline.length - 1]
    if (!room || !last) return
    const mine = room.receipts[this.userId]
    if (mine?.eventId === last.event_id && room.notificationCount === 0 && room.highlightCount === 0) return
    if (mine?.eventId !== last.event_id) {
      const conn = this.ws?.connection
      const sentOverSocket = conn?.fire({ type: 'receipt', room_id: roomId, event_id: last.event_id, receipt_type: 'm.read' })
      if (!sentOverSocket) {
        this.client.sendReceipt(roomId, last.event_id, 'm.read').catch(() => undefined)
      }
    }
    this.store.dispatch({ type: 'markRead', roomId, eventId: last.event_id, now: Date.now() })
  }

  /** The composer's text changed (typing notifications are debounced). */
  composerInput(roomId: string, text: string): void {
    this.typingNotifier(roomId).input(text)
  }

  /** The composer lost focus or the room was left: stop "typing". */
  composerStop(roomId: string): void {
    this.typingNotifiers.get(roomId)?.stop()
  }

  private typingNotifier(roomId: string): TypingNotifier {
    let t = this.typingNotifiers.get(roomId)
    if (!t) {
      t = new TypingNotifier({ send: (typing, timeout) => this.sendTyping(roomId, typing, timeout) })
      this.typingNotifiers.set(roomId, t)
    }
    return t
  }

  /**
   * "Stopped typing" went out with the send; when the send failed (an
   * oversized frame closes the stream before the server handles what came
   * before it) it may have been lost, so it is said again, unless the user
   * is typing once more.
   */
  private endTypingAfterFailedSend(roomId: string): void {
    if (this.typingNotifiers.get(roomId)?.typing) return
    this.sendTyping(roomId, false, 0)
  }

  private sendTyping(roomId: string, typing: boolean, timeoutMs: number): void {
    if (this.stopped) return
    const frame: JsonObject = { type: 'typing', room_id: roomId, typing }
    if (typing) frame.timeout = timeoutMs
    if (this.ws?.connection?.fire(frame)) return
    this.client.setTyping(roomId, this.userId, typing, typing ? timeoutMs : undefined).catch(() => undefined)
  }

  // ---- Focus ---------------------------------------------------------------

  private focus: { roomId: string | null; focused: boolean } = { roomId: null, focused: false }
  private focusSent: { conn: StreamConnection; key: string } | null = null

  /**
   * The room on screen (null: none) and whether the window is visible and
   * focused. Told to the server on the stream (a `focus` frame, again on each
   * new connection) so it does not push what the user is looking at.
   */
  setFocus(roomId: string | null, focused: boolean): void {
    this.focus = { roomId, focused }
    const conn = this.ws?.connection
    if (conn) this.sendFocus(conn)
  }

  private sendFocus(conn: StreamConnection): void {
    const key = JSON.stringify(this.focus)
    if (this.focusSent?.conn === conn && this.focusSent.key === key) return
    if (conn.fire({ type: 'focus', room_id: this.focus.roomId, focused: this.focus.focused })) {
      this.focusSent = { conn, key }
    }
  }

  // ---- Presence ----------------------------------------------------------

  private readonly presenceRequested = new Set<string>()

  /**
   * Fetches the presence of users sync has told us nothing about (once per
   * user): sync only reports presence *changes*, so someone who was already
   * online when we started sharing a room would otherwise look offline.
   */
  ensurePresence(userIds: Iterable<string>): void {
    const known = this.store.getState().presence
    for (const userId of userIds) {
      if (known[userId] || this.presenceRequested.has(userId) || this.stopped) continue
      this.presenceRequested.add(userId)
      this.client
        .getPresence(userId)
        .then((content) =>
          this.store.dispatch({ type: 'presence/fetched', userId, content: content as unknown as JsonObject, now: Date.now() }),
        )
        .catch(() => {
          // Not sharing a room (yet): try again next time someone asks.
          this.presenceRequested.delete(userId)
        })
    }
  }

  // ---- Members -----------------------------------------------------------

  /** Joined members of a room (from the server; room state when that fails). */
  async joinedMembers(roomId: string): Promise<Member[]> {
    const room = this.store.getState().rooms[roomId]
    try {
      const res = await this.client.joinedMembers(roomId)
      return Object.entries(res.joined ?? {}).map(([userId, m]) => ({
        userId,
        displayName: (m && typeof m.display_name === 'string' && m.display_name.trim()) || (room ? memberName(room.state, userId) : userId),
      }))
    } catch (e) {
      if (!room) throw e
      const members = room.state['m.room.member'] ?? {}
      return Object.keys(members)
        .filter((u) => str(members[u].content.membership) === 'join')
        .map((u) => ({ userId: u, displayName: memberName(room.state, u) }))
    }
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
    this.composerStop(roomId)
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
    // The server drops the device's pushers; the browser's subscription goes too.
    await this.push.forget().catch(() => undefined)
    await this.client.logout()
  }

  // ---- Push rules ----------------------------------------------------------

  /**
   * The push rules from GET /pushrules/, unless sync has delivered them
   * already (`m.push_rules` account data, in the first sync and after every
   * change: that copy is at least as new).
   */
  async loadPushRules(): Promise<void> {
    try {
      const rules = await this.client.getPushRules()
      if (!this.store.getState().accountData['m.push_rules'] && rules && typeof rules === 'object') {
        this.store.dispatch({ type: 'accountData', eventType: 'm.push_rules', content: rules as JsonObject })
      }
    } catch {
      // Sync brings them anyway.
    }
  }

  /**
   * Mutes a room (an `override` push rule with the room id as rule id, an
   * `event_match` on `room_id` and no actions: no notifications, no unread
   * notification counts, no pushes) or unmutes it (every rule muting it is
   * deleted, including `room` rules other clients may have set).
   */
  async setRoomMuted(roomId: string, muted: boolean): Promise<void> {
    const current = this.store.getState().accountData['m.push_rules']
    if (muted) {
      await this.client.setPushRule('override', roomId, muteRuleBody(roomId))
    } else {
      const rules = muteRulesFor(current, roomId)
      if (rules.length === 0) rules.push({ kind: 'override', ruleId: roomId })
      for (const r of rules) {
        try {
          await this.client.deletePushRule(r.kind, r.ruleId)
        } catch (e) {
          if (!isMatrixError(e, 'M_NOT_FOUND')) throw e
        }
      }
    }
    // Shown now; the server's m.push_rules in the next sync has the last word.
    const latest = this.store.getState().accountData['m.push_rules']
    this.store.dispatch({ type: 'accountData', eventType: 'm.push_rules', content: withRoomMuted(latest, roomId, muted) as JsonObject })
  }
}
