import { isSoftLogout, MatrixError, NetworkError } from '../api/errors'
import type { JsonObject, SyncResponse } from '../api/types'
import type { SyncRequest, SyncTransport } from './transport'

/**
 * The homeserver's WebSocket sync stream (spec/websocket.md): the same
 * batches as /sync, pushed as they happen over one connection.
 *
 * - The access token goes in the `start` frame (never in the URL).
 * - Every `sync` frame is acknowledged (`ack` with its `seq`) only once the
 *   loop has applied it and stored its `next_batch` (`SyncTransport.ack`).
 * - A connection resumes from the `since` the loop asks for; frames received
 *   but not yet applied when a connection drops are discarded and come again.
 * - `ping` is answered with `pong`; a connection silent for two heartbeats is
 *   considered dead and closed.
 * - `send` requests carry a `req_id` answered by `send_result` or `error`.
 */

export const STREAM_PATH = '/_matrix/client/unstable/homeserver.sync/ws'
export const STREAM_PROTOCOL = 'homeserver.sync.v1'

/** The part of the browser's WebSocket this module uses (so tests can fake it). */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason?: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike

const OPEN = 1

/** The stream's URL for a homeserver base URL ('' = the page's origin). */
export function streamUrl(baseUrl: string, location?: { protocol: string; host: string }): string {
  if (baseUrl) {
    const u = new URL(STREAM_PATH, baseUrl)
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
    return u.href
  }
  const loc = location ?? globalThis.location
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${STREAM_PATH}`
}

/** The socket closed (or never opened). `afterReady`: it had been working. */
export class SocketClosedError extends NetworkError {
  readonly code: number
  readonly afterReady: boolean
  constructor(message: string, code: number, afterReady: boolean) {
    super(message)
    this.name = 'SocketClosedError'
    this.code = code
    this.afterReady = afterReady
  }
}

export interface SyncFrame {
  type: 'sync'
  seq: number
  since: string | null
  next_batch: string
  data: SyncResponse
}

export interface ReadyInfo {
  userId: string
  deviceId: string
  window: number
  heartbeatMs: number
}

interface Pending<T> {
  resolve: (v: T) => void
  reject: (e: unknown) => void
}

export interface ConnectionOptions {
  factory: SocketFactory
  url: string
  accessToken: string
  since: string | null
  filter?: JsonObject
  setPresence?: 'online' | 'unavailable' | 'offline'
  /** Give up when `ready` has not arrived after this long (ms). */
  connectTimeoutMs?: number
  /** Extra silence allowed on top of two heartbeat intervals (ms). */
  heartbeatSlackMs?: number
}

const STATUS_FOR: Record<string, number> = {
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_FORBIDDEN: 403,
  M_NOT_FOUND: 404,
  M_LIMIT_EXCEEDED: 429,
  M_TOO_LARGE: 413,
}

function abortError(): DOMException {
  return new DOMException('Aborted', 'AbortError')
}

/** One socket, from `start` to close. */
export class StreamConnection {
  state: 'connecting' | 'ready' | 'closed' = 'connecting'
  /** `next_batch` of the last frame handed out (at first: the `since` it started from). */
  position: string | null
  readonly ready: Promise<ReadyInfo>
  /** Sequence numbers acknowledged so far (for tests and debugging). */
  readonly acked: number[] = []
  private readonly socket: SocketLike
  private readonly frames: SyncFrame[] = []
  private waiter: Pending<SyncFrame> | null = null
  private readonly requests = new Map<string, Pending<JsonObject>>()
  private resolveReady!: (r: ReadyInfo) => void
  private rejectReady!: (e: unknown) => void
  private closedError: Error | null = null
  private startError: MatrixError | null = null
  private reqCounter = 0
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  private watchdog: ReturnType<typeof setTimeout> | null = null
  private silenceLimitMs = 0
  private readonly opts: ConnectionOptions
  /** Called once when the connection ends (after it was created). */
  onClosed: ((error: Error) => void) | null = null

  constructor(opts: ConnectionOptions) {
    this.opts = opts
    this.position = opts.since
    this.ready = new Promise<ReadyInfo>((resolve, reject) => {
      this.resolveReady = resolve
      this.rejectReady = reject
    })
    // Nobody may be listening (e.g. a connection replaced before it was ready).
    this.ready.catch(() => undefined)
    this.socket = opts.factory(opts.url, [STREAM_PROTOCOL])
    this.socket.onopen = () => this.onOpen()
    this.socket.onmessage = (ev) => this.onMessage(ev.data)
    this.socket.onclose = (ev) => this.onClose(ev.code, ev.reason ?? '')
    this.socket.onerror = () => {
      /* onclose follows with the details */
    }
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null
      if (this.state === 'connecting') this.fail(new SocketClosedError('The stream did not answer', 4000, false), 4000)
    }, opts.connectTimeoutMs ?? 10_000)
  }

  // ---- API used by the transport and the controller ------------------------

  /** The access token this connection started with. */
  get accessToken(): string {
    return this.opts.accessToken
  }

  /** The next sync frame, in order. Rejects when the connection ends. */
  nextSync(signal?: AbortSignal): Promise<SyncFrame> {
    const queued = this.frames.shift()
    if (queued) return Promise.resolve(this.handOut(queued))
    if (this.closedError) return Promise.reject(this.closedError)
    if (signal?.aborted) return Promise.reject(abortError())
    return new Promise<SyncFrame>((resolve, reject) => {
      const onAbort = () => {
        if (this.waiter === entry) this.waiter = null
        reject(abortError())
      }
      const entry: Pending<SyncFrame> = {
        resolve: (f) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(this.handOut(f))
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
      this.waiter = entry
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Every sync frame up to `seq` has been processed. */
  ack(seq: number): void {
    if (this.state !== 'ready') return
    this.acked.push(seq)
    this.write({ type: 'ack', seq })
  }

  /** Sends a request that is answered (`send`); resolves with the answer frame. */
  request(frame: JsonObject): Promise<JsonObject> {
    if (this.state !== 'ready') {
      return Promise.reject(this.closedError ?? new SocketClosedError('The stream is not connected', 0, false))
    }
    const reqId = `r${++this.reqCounter}`
    return new Promise<JsonObject>((resolve, reject) => {
      this.requests.set(reqId, { resolve, reject })
      if (!this.write({ ...frame, req_id: reqId })) {
        this.requests.delete(reqId)
        reject(new SocketClosedError('The stream is not connected', 0, true))
      }
    })
  }

  /** Sends a frame nobody waits for an answer to (`typing`, `receipt`); false when not connected. */
  fire(frame: JsonObject): boolean {
    if (this.state !== 'ready') return false
    return this.write({ ...frame, req_id: `f${++this.reqCounter}` })
  }

  close(code = 1000, reason = 'client closed'): void {
    if (this.state === 'closed') return
    this.fail(new SocketClosedError('Connection closed', code, this.state === 'ready'), code, reason)
  }

  // ---- socket events ----------------------------------------------------------

  private onOpen(): void {
    const start: JsonObject = { type: 'start', access_token: this.opts.accessToken }
    if (this.opts.since) start.since = this.opts.since
    if (this.opts.filter) start.filter = this.opts.filter
    start.set_presence = this.opts.setPresence ?? 'online'
    this.write(start)
  }

  private onMessage(data: unknown): void {
    if (this.state === 'closed') return
    this.feedWatchdog()
    let frame: JsonObject
    try {
      frame = JSON.parse(String(data)) as JsonObject
    } catch {
      return
    }
    if (!frame || typeof frame !== 'object') return
    switch (frame.type) {
      case 'ready': {
        if (this.state !== 'connecting') return
        this.state = 'ready'
        if (this.connectTimer !== null) clearTimeout(this.connectTimer)
        this.connectTimer = null
        const heartbeatMs = typeof frame.heartbeat_ms === 'number' && frame.heartbeat_ms > 0 ? frame.heartbeat_ms : 25_000
        this.silenceLimitMs = heartbeatMs * 2 + (this.opts.heartbeatSlackMs ?? 5000)
        this.feedWatchdog()
        this.resolveReady({
          userId: String(frame.user_id ?? ''),
          deviceId: String(frame.device_id ?? ''),
          window: typeof frame.window === 'number' ? frame.window : 16,
          heartbeatMs,
        })
        return
      }
      case 'sync': {
        if (typeof frame.seq !== 'number' || typeof frame.next_batch !== 'string' || !frame.data) return
        const data = frame.data as SyncResponse
        const f: SyncFrame = {
          type: 'sync',
          seq: frame.seq,
          since: typeof frame.since === 'string' ? frame.since : null,
          next_batch: frame.next_batch,
          data: { ...data, next_batch: frame.next_batch },
        }
        const waiter = this.waiter
        if (waiter) {
          this.waiter = null
          waiter.resolve(f)
        } else {
          this.frames.push(f)
        }
        return
      }
      case 'ping':
        this.write({ type: 'pong' })
        return
      case 'pong':
        return
      case 'send_result': {
        const req = this.takeRequest(frame.req_id)
        req?.resolve(frame)
        return
      }
      case 'error': {
        const errcode = typeof frame.errcode === 'string' ? frame.errcode : 'M_UNKNOWN'
        const error = new MatrixError(STATUS_FOR[errcode] ?? 400, errcode, typeof frame.error === 'string' ? frame.error : errcode, frame)
        const req = this.takeRequest(frame.req_id)
        if (req) req.reject(error)
        else if (this.state === 'connecting' || errcode === 'M_UNKNOWN_TOKEN' || errcode === 'M_MISSING_TOKEN') this.startError = error
        return
      }
      case 'resync':
        // The server closes next; the transport reconnects from the last applied token.
        this.close(1000, 'resync')
        return
      default:
        return
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closed') return
    let error: Error
    if (code === 4001 || this.startError?.httpStatus === 401) {
      error = this.startError ?? new MatrixError(401, 'M_UNKNOWN_TOKEN', reason || 'The session has ended')
    } else if (this.state === 'connecting' && this.startError) {
      error = this.startError
    } else {
      error = new SocketClosedError(reason || `The stream closed (${code})`, code, this.state === 'ready')
    }
    this.fail(error)
  }

  // ---- internals -----------------------------------------------------------

  private handOut(frame: SyncFrame): SyncFrame {
    this.position = frame.next_batch
    return frame
  }

  private takeRequest(reqId: unknown): Pending<JsonObject> | undefined {
    if (typeof reqId !== 'string') return undefined
    const req = this.requests.get(reqId)
    this.requests.delete(reqId)
    return req
  }

  private write(frame: JsonObject): boolean {
    if (this.socket.readyState !== OPEN) return false
    try {
      this.socket.send(JSON.stringify(frame))
      return true
    } catch {
      return false
    }
  }

  private feedWatchdog(): void {
    if (this.state !== 'ready' || this.silenceLimitMs <= 0) return
    if (this.watchdog !== null) clearTimeout(this.watchdog)
    this.watchdog = setTimeout(() => {
      this.watchdog = null
      this.fail(new SocketClosedError('The stream went silent', 4002, true), 4000, 'heartbeat timeout')
    }, this.silenceLimitMs)
  }

  /** Ends the connection with `error`: everyone waiting is told, the socket is closed. */
  private fail(error: Error, closeCode?: number, reason?: string): void {
    if (this.state === 'closed') return
    const wasConnecting = this.state === 'connecting'
    this.state = 'closed'
    this.closedError = error
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    if (this.watchdog !== null) clearTimeout(this.watchdog)
    this.connectTimer = this.watchdog = null
    if (wasConnecting) this.rejectReady(error)
    // Frames received but not handed out are dropped: the next connection
    // resumes from the last applied token and gets them again.
    this.frames.length = 0
    const waiter = this.waiter
    this.waiter = null
    waiter?.reject(error)
    for (const req of this.requests.values()) req.reject(error)
    this.requests.clear()
    if (closeCode !== undefined) {
      try {
        this.socket.close(closeCode < 4000 && closeCode !== 1000 ? 1000 : closeCode, reason)
      } catch {
        /* already closing */
      }
    }
    this.socket.onopen = this.socket.onmessage = this.socket.onerror = null
    this.socket.onclose = null
    this.onClosed?.(error)
  }
}

export interface WsTransportOptions {
  factory: SocketFactory
  url: string
  /** The token for the `start` frame, asked again for every connection. */
  accessToken: string | (() => string | null | Promise<string | null>)
  /**
   * The server refused `rejected` as expired (soft logout, e.g. closed 4001
   * at a heartbeat): get a new one. The stream then reconnects, once, from
   * the last applied token.
   */
  refreshToken?: (rejected: string) => Promise<string>
  filter?: JsonObject
  connectTimeoutMs?: number
  heartbeatSlackMs?: number
  /** A connection is ready (after a reconnect too): e.g. resend what was pending. */
  onConnected?: (conn: StreamConnection) => void
}

/**
 * `SyncTransport` over the stream: `next` hands out the connection's frames
 * one by one, (re)connecting from `since` when needed; `ack` acknowledges the
 * frame last handed out once it has been applied.
 */
export class WsSyncTransport implements SyncTransport {
  private conn: StreamConnection | null = null
  private delivered: { conn: StreamConnection; seq: number; nextBatch: string } | null = null
  private readonly opts: WsTransportOptions

  constructor(opts: WsTransportOptions) {
    this.opts = opts
  }

  /** The connection, when it is up. */
  get connection(): StreamConnection | null {
    return this.conn && this.conn.state === 'ready' ? this.conn : null
  }

  async next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    try {
      return await this.nextFrame(request, signal)
    } catch (e) {
      const rejected = this.conn?.accessToken
      if (!this.opts.refreshToken || !isSoftLogout(e) || signal.aborted || rejected === undefined) throw e
      await this.opts.refreshToken(rejected)
      return await this.nextFrame(request, signal)
    }
  }

  /**
   * The access token changed (refreshed): a connection that is up is
   * replaced by one started with the new token, resuming from the last
   * applied batch (no gap, no duplicate).
   */
  reauthenticate(): void {
    const conn = this.conn
    if (conn && conn.state === 'ready') conn.close(1000, 'reauthenticate')
  }

  private async nextFrame(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    const since = request.since ?? null
    let conn = this.conn
    if (!conn || conn.state === 'closed' || conn.position !== since) conn = await this.connect(since, signal)
    try {
      return await this.take(conn, signal)
    } catch (e) {
      // It was working and dropped (server closed it, resync, silence):
      // reconnect from the last applied token straight away, once.
      if (e instanceof SocketClosedError && e.afterReady && !signal.aborted) {
        conn = await this.connect(since, signal)
        return await this.take(conn, signal)
      }
      throw e
    }
  }

  ack(response: SyncResponse): void {
    const d = this.delivered
    if (!d || d.nextBatch !== response.next_batch || d.conn !== this.conn) return
    this.delivered = null
    d.conn.ack(d.seq)
  }

  close(): void {
    this.conn?.close()
    this.conn = null
    this.delivered = null
  }

  private async take(conn: StreamConnection, signal: AbortSignal): Promise<SyncResponse> {
    const frame = await conn.nextSync(signal)
    this.delivered = { conn, seq: frame.seq, nextBatch: frame.next_batch }
    return frame.data
  }

  private async connect(since: string | null, signal: AbortSignal): Promise<StreamConnection> {
    this.conn?.close()
    this.delivered = null
    if (signal.aborted) throw abortError()
    const token = this.opts.accessToken
    const accessToken = (typeof token === 'function' ? await token() : token) ?? ''
    if (signal.aborted) throw abortError()
    const conn = new StreamConnection({
      factory: this.opts.factory,
      url: this.opts.url,
      accessToken,
      since,
      filter: this.opts.filter,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      heartbeatSlackMs: this.opts.heartbeatSlackMs,
    })
    this.conn = conn
    const onAbort = () => conn.close(1000, 'aborted')
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await conn.ready
    } catch (e) {
      if (signal.aborted) throw abortError()
      throw e
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    this.opts.onConnected?.(conn)
    return conn
  }
}
