import type { JsonObject } from '../api/types'
import type { SocketFactory, SocketLike } from '../sync/wsTransport'

/** A scripted WebSocket: the test plays the server. */
export class FakeSocket implements SocketLike {
  readyState = 0
  readonly url: string
  readonly protocols: string[]
  /** Frames the client sent, parsed. */
  readonly sent: JsonObject[] = []
  closedWith: { code?: number; reason?: string } | null = null
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null

  constructor(url: string, protocols: string[]) {
    this.url = url
    this.protocols = protocols
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open')
    this.sent.push(JSON.parse(data) as JsonObject)
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 3
  }

  // ---- the server's side ----

  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  receive(frame: JsonObject): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }

  /** open + `ready`. */
  accept(heartbeatMs = 25_000): void {
    this.open()
    this.receive({ type: 'ready', user_id: '@me:hs.test', device_id: 'DEV', window: 16, heartbeat_ms: heartbeatMs })
  }

  /** The connection ends (from the network or the server). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }

  sentOfType(type: string): JsonObject[] {
    return this.sent.filter((f) => f.type === type)
  }
}

/** A factory that records every socket it opens. */
export function fakeSockets(): { factory: SocketFactory; sockets: FakeSocket[]; last: () => FakeSocket } {
  const sockets: FakeSocket[] = []
  const factory: SocketFactory = (url, protocols) => {
    const s = new FakeSocket(url, protocols)
    sockets.push(s)
    return s
  }
  return {
    factory,
    sockets,
    last: () => {
      const s = sockets[sockets.length - 1]
      if (!s) throw new Error('no socket opened')
      return s
    },
  }
}

let seqCounter = 0

/** A `sync` frame whose data carries one message per id in `eventIds` for `roomId`. */
export function syncFrame(seq: number, since: string | null, nextBatch: string, roomId = '!r:hs.test', eventIds: string[] = []): JsonObject {
  seqCounter += 1
  return {
    type: 'sync',
    seq,
    since,
    next_batch: nextBatch,
    data: {
      next_batch: nextBatch,
      rooms: {
        join: {
          [roomId]: {
            timeline: {
              events: eventIds.map((id, i) => ({
                event_id: id,
                type: 'm.room.message',
                sender: '@alice:hs.test',
                origin_server_ts: 1000 + seqCounter * 10 + i,
                content: { msgtype: 'm.text', body: id },
              })),
              limited: false,
            },
          },
        },
      },
    },
  }
}
