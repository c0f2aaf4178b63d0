import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MatrixError } from '../api/errors'
import { fakeSockets, syncFrame } from '../test/fakeSocket'
import { SyncLoop, type SyncStatus } from './loop'
import { SocketClosedError, streamUrl, WsSyncTransport } from './wsTransport'

const URL = 'ws://hs.test/_matrix/client/unstable/homeserver.sync/ws'
const FILTER = { room: { timeline: { limit: 30 } } }
const flush = () => vi.advanceTimersByTimeAsync(0)

function setup(opts: { onBatch?: (nextBatch: string, loop: SyncLoop) => void } = {}) {
  const sockets = fakeSockets()
  const ws = new WsSyncTransport({ factory: sockets.factory, url: URL, accessToken: 'secret-token', filter: FILTER })
  const applied: string[] = []
  const statuses: SyncStatus['state'][] = []
  const fatal: unknown[] = []
  const loop: SyncLoop = new SyncLoop({
    transport: ws,
    onBatch: (r) => {
      applied.push(r.next_batch)
      opts.onBatch?.(r.next_batch, loop)
    },
    onStatus: (s) => statuses.push(s.state),
    onFatal: (e) => fatal.push(e),
  })
  return { ...sockets, ws, loop, applied, statuses, fatal }
}

describe('streamUrl', () => {
  it('derives ws:// or wss:// from the page or the base URL', () => {
    expect(streamUrl('', { protocol: 'http:', host: '127.0.0.1:8008' })).toBe(
      'ws://127.0.0.1:8008/_matrix/client/unstable/homeserver.sync/ws',
    )
    expect(streamUrl('', { protocol: 'https:', host: 'chat.example' })).toBe(
      'wss://chat.example/_matrix/client/unstable/homeserver.sync/ws',
    )
    expect(streamUrl('https://hs.example:8448')).toBe('wss://hs.example:8448/_matrix/client/unstable/homeserver.sync/ws')
  })
})

describe('WsSyncTransport', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends the token in the start frame (never the URL), then applies frames in order and acks each after applying it', async () => {
    const ackedWhenApplied: number[] = []
    const tokenWhenApplied: (string | null)[] = []
    const t = setup({
      onBatch: (_, loop) => {
        ackedWhenApplied.push(t.last().sentOfType('ack').length)
        tokenWhenApplied.push(loop.nextBatch)
      },
    })
    t.loop.start()
    await flush()
    const s = t.last()
    expect(s.url).toBe(URL)
    expect(s.url).not.toContain('secret')
    expect(s.protocols).toEqual(['homeserver.sync.v1'])
    s.accept()
    expect(s.sent[0]).toEqual({ type: 'start', access_token: 'secret-token', filter: FILTER, set_presence: 'online' })

    s.receive(syncFrame(1, null, 'b1', '!r:hs.test', ['$1']))
    s.receive(syncFrame(2, 'b1', 'b2', '!r:hs.test', ['$2']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2'])
    // Frame 2 was applied while only frame 1 had been acknowledged...
    expect(ackedWhenApplied).toEqual([0, 1])
    // ...and while applying a frame the resume token is still the previous one.
    expect(tokenWhenApplied).toEqual([null, 'b1'])
    expect(s.sentOfType('ack')).toEqual([
      { type: 'ack', seq: 1 },
      { type: 'ack', seq: 2 },
    ])
    expect(t.loop.nextBatch).toBe('b2')
    expect(t.sockets).toHaveLength(1)
    t.loop.stop()
    expect(s.closedWith?.code).toBe(1000)
  })

  it('answers ping with pong', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().accept()
    t.last().receive({ type: 'ping', ts: 5 })
    expect(t.last().sentOfType('pong')).toHaveLength(1)
    t.loop.stop()
  })

  it('after a drop, reconnects at once from the last applied token: frames not yet applied come again, none twice', async () => {
    const t = setup({
      onBatch: (nb) => {
        // The connection dies while frame 2 is being applied; frame 3 had already arrived.
        if (nb === 'b2') t.sockets[0].drop(1006)
      },
    })
    t.loop.start()
    await flush()
    const first = t.last()
    first.accept()
    first.receive(syncFrame(1, null, 'b1', '!r:hs.test', ['$1']))
    await flush()
    first.receive(syncFrame(2, 'b1', 'b2', '!r:hs.test', ['$2']))
    first.receive(syncFrame(3, 'b2', 'b3', '!r:hs.test', ['$3']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2'])
    // Frame 2 was applied (its token stored) but never acknowledged on the dead socket.
    expect(first.sentOfType('ack')).toEqual([{ type: 'ack', seq: 1 }])

    expect(t.sockets).toHaveLength(2)
    const second = t.last()
    second.accept()
    expect(second.sent[0]).toMatchObject({ type: 'start', since: 'b2', access_token: 'secret-token' })
    second.receive(syncFrame(1, 'b2', 'b3', '!r:hs.test', ['$3']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2', 'b3'])
    expect(second.sentOfType('ack')).toEqual([{ type: 'ack', seq: 1 }])
    // The drop was repaired without the loop going offline.
    expect(t.statuses).not.toContain('offline')
    t.loop.stop()
  })

  it('reconnects when told to resync', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().accept()
    t.last().receive(syncFrame(1, null, 'b1'))
    await flush()
    t.last().receive({ type: 'resync', reason: 'Too far behind' })
    await flush()
    expect(t.sockets).toHaveLength(2)
    expect(t.sockets[0].closedWith).not.toBeNull()
    t.last().accept()
    expect(t.last().sent[0]).toMatchObject({ type: 'start', since: 'b1' })
    t.loop.stop()
  })

  it('treats two silent heartbeat intervals as a dead connection', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().accept(1000)
    t.last().receive(syncFrame(1, null, 'b1'))
    await flush()
    await vi.advanceTimersByTimeAsync(6000) // 2 × 1 s + 5 s slack not reached yet
    expect(t.sockets).toHaveLength(1)
    t.last().receive({ type: 'ping', ts: 1 }) // any frame keeps it alive
    await vi.advanceTimersByTimeAsync(6999)
    expect(t.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(t.sockets[0].closedWith).not.toBeNull()
    expect(t.sockets).toHaveLength(2)
    t.last().accept(1000)
    expect(t.last().sent[0]).toMatchObject({ since: 'b1' })
    t.loop.stop()
  })

  it('ends the session when the server rejects the token', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    const s = t.last()
    s.open()
    s.receive({ type: 'error', errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' })
    s.drop(4001, 'Unknown token')
    await flush()
    expect(t.fatal).toHaveLength(1)
    expect(t.fatal[0]).toBeInstanceOf(MatrixError)
    expect((t.fatal[0] as MatrixError).errcode).toBe('M_UNKNOWN_TOKEN')
    expect(t.statuses[t.statuses.length - 1]).toBe('stopped')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.sockets).toHaveLength(1)
  })

  it('gives up on a socket that never becomes ready', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().open() // but no `ready`
    await vi.advanceTimersByTimeAsync(10_000)
    expect(t.sockets[0].closedWith).not.toBeNull()
    expect(t.statuses).toContain('offline')
    t.loop.stop()
  })

  it('matches requests and answers by req_id', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().accept()
    await flush()
    const conn = t.ws.connection!
    const ok = conn.request({ type: 'send', room_id: '!r', txn_id: 't1', content: { body: 'a' } })
    const bad = conn.request({ type: 'send', room_id: '!r', txn_id: 't2', content: { body: 'b' } })
    const [f1, f2] = t.last().sentOfType('send')
    expect(f1.req_id).not.toBe(f2.req_id)
    t.last().receive({ type: 'error', req_id: f2.req_id, errcode: 'M_FORBIDDEN', error: 'no' })
    t.last().receive({ type: 'send_result', req_id: f1.req_id, event_id: '$e1', txn_id: 't1' })
    await expect(ok).resolves.toMatchObject({ event_id: '$e1' })
    await expect(bad).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', httpStatus: 403 })
    const lost = conn.request({ type: 'send', room_id: '!r', txn_id: 't3', content: {} })
    t.last().drop()
    await expect(lost).rejects.toBeInstanceOf(SocketClosedError)
    t.loop.stop()
  })
})
