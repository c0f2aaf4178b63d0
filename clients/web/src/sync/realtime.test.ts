import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MatrixError, NetworkError } from '../api/errors'
import type { SyncResponse } from '../api/types'
import { fakeSockets, syncFrame } from '../test/fakeSocket'
import { SyncLoop, type SyncStatus } from './loop'
import { RealtimeTransport, type TransportMode } from './realtime'
import type { SyncRequest, SyncTransport } from './transport'
import { WsSyncTransport } from './wsTransport'

const flush = () => vi.advanceTimersByTimeAsync(0)

/** Long-poll /sync: answers `http-<n>` tokens, or fails while `down`. */
class FakeHttp implements SyncTransport {
  calls: SyncRequest[] = []
  down = false
  private n = 0
  async next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    this.calls.push(request)
    if (this.down) throw new NetworkError()
    // Long-poll: wait a little (like a server with nothing new), then answer.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, request.timeout > 0 ? 1000 : 0)
      signal.addEventListener('abort', () => {
        clearTimeout(t)
        reject(new DOMException('Aborted', 'AbortError'))
      })
    })
    this.n += 1
    return { next_batch: `http-${this.n}` }
  }
}

function setup() {
  const sockets = fakeSockets()
  const http = new FakeHttp()
  const modes: TransportMode[] = []
  const ws = new WsSyncTransport({ factory: sockets.factory, url: 'ws://hs.test/ws', accessToken: 'tok' })
  const transport = new RealtimeTransport({ ws, http, socketRetryMs: 60_000, onModeChange: (m) => modes.push(m) })
  const applied: string[] = []
  const statuses: SyncStatus['state'][] = []
  const loop = new SyncLoop({
    transport,
    onBatch: (r) => applied.push(r.next_batch),
    onStatus: (s) => statuses.push(s.state),
  })
  return { ...sockets, http, transport, loop, applied, statuses, modes }
}

describe('RealtimeTransport (socket, falling back to long-poll)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('uses the socket when it connects', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    t.last().accept()
    t.last().receive(syncFrame(1, null, 'b1'))
    await flush()
    expect(t.applied).toEqual(['b1'])
    expect(t.transport.mode).toBe('ws')
    expect(t.http.calls).toHaveLength(0)
    t.loop.stop()
  })

  it('falls back to long-poll after 3 failed socket attempts (with back-off), then retries the socket later', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    // Three attempts that never open.
    t.sockets[0].drop(1006)
    await flush()
    expect(t.statuses).toEqual(['connecting', 'offline'])
    await vi.advanceTimersByTimeAsync(1000) // back-off 1 s
    expect(t.sockets).toHaveLength(2)
    t.sockets[1].drop(1006)
    await vi.advanceTimersByTimeAsync(2000) // back-off 2 s
    expect(t.sockets).toHaveLength(3)
    expect(t.http.calls).toHaveLength(0)
    t.sockets[2].drop(1006)
    await flush()
    // The third failure switches to long-poll at once, resuming from the same (no) token.
    expect(t.transport.mode).toBe('http')
    expect(t.modes).toEqual(['http'])
    expect(t.http.calls[0]).toEqual({ since: undefined, timeout: 0 })
    await flush()
    expect(t.applied).toEqual(['http-1'])
    expect(t.statuses[t.statuses.length - 1]).toBe('online')

    // Long-polling continues from the long-poll tokens...
    await vi.advanceTimersByTimeAsync(5000)
    expect(t.http.calls[1]).toEqual({ since: 'http-1', timeout: 30000 })
    expect(t.sockets).toHaveLength(3)
    // ...and a minute later the socket is tried again, from the last applied token.
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.sockets).toHaveLength(4)
    const applied = t.applied[t.applied.length - 1]
    t.last().accept()
    expect(t.last().sent[0]).toMatchObject({ type: 'start', since: applied })
    t.last().receive(syncFrame(1, applied, 'ws-1'))
    await flush()
    expect(t.transport.mode).toBe('ws')
    expect(t.modes).toEqual(['http', 'ws'])
    expect(t.applied[t.applied.length - 1]).toBe('ws-1')
    expect(t.last().sentOfType('ack')).toEqual([{ type: 'ack', seq: 1 }])
    t.loop.stop()
  })

  it('a failed socket retry goes straight back to long-poll without an offline blip', async () => {
    const t = setup()
    t.loop.start()
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(i === 0 ? 0 : 1000 * 2 ** (i - 1))
      t.last().drop(1006)
    }
    await flush()
    expect(t.transport.mode).toBe('http')
    const offlineBefore = t.statuses.filter((s) => s === 'offline').length
    await vi.advanceTimersByTimeAsync(61_000)
    expect(t.sockets).toHaveLength(4)
    const httpCalls = t.http.calls.length
    const lastApplied = t.applied[t.applied.length - 1]
    t.last().drop(1006) // the retry fails too
    await vi.advanceTimersByTimeAsync(1000)
    expect(t.http.calls.length).toBeGreaterThan(httpCalls)
    expect(t.http.calls[httpCalls].since).toBe(lastApplied)
    expect(t.transport.mode).toBe('http')
    expect(t.statuses.filter((s) => s === 'offline').length).toBe(offlineBefore)
    t.loop.stop()
  })

  it('while the whole server is down, the socket is tried first when it comes back', async () => {
    const t = setup()
    t.http.down = true
    t.loop.start()
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(i === 0 ? 0 : 1000 * 2 ** (i - 1))
      t.last().drop(1006)
    }
    await flush()
    expect(t.http.calls).toHaveLength(1) // failed too
    expect(t.transport.mode).toBe('http')
    // Next attempt (after the 4 s back-off): the socket first.
    await vi.advanceTimersByTimeAsync(4000)
    expect(t.sockets).toHaveLength(4)
    t.last().accept()
    t.last().receive(syncFrame(1, null, 'ws-1'))
    await flush()
    expect(t.transport.mode).toBe('ws')
    expect(t.applied).toEqual(['ws-1'])
    t.loop.stop()
  })

  it('does not fall back on a session error: the loop stops', async () => {
    const t = setup()
    const fatal: unknown[] = []
    const loop = new SyncLoop({ transport: t.transport, onBatch: () => {}, onFatal: (e) => fatal.push(e) })
    loop.start()
    await flush()
    t.last().open()
    t.last().drop(4001, 'token revoked')
    await flush()
    expect(fatal[0]).toBeInstanceOf(MatrixError)
    expect(t.http.calls).toHaveLength(0)
  })
})
