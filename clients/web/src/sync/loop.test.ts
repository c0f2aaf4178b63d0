import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MatrixError, NetworkError } from '../api/errors'
import type { SyncResponse } from '../api/types'
import { backoffDelay } from './backoff'
import { SyncLoop, type SyncStatus } from './loop'
import type { SyncRequest, SyncTransport } from './transport'

/** A transport whose answers are scripted: each call takes the next step. */
class FakeTransport implements SyncTransport {
  calls: { request: SyncRequest; at: number }[] = []
  closed = false
  private steps: (() => Promise<SyncResponse>)[] = []
  private hanging: { reject: (e: unknown) => void }[] = []

  fail(n: number, error: unknown = new NetworkError()) {
    for (let i = 0; i < n; i++) this.steps.push(() => Promise.reject(error))
    return this
  }
  succeed(nextBatch: string) {
    this.steps.push(() => Promise.resolve({ next_batch: nextBatch }))
    return this
  }

  next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    this.calls.push({ request, at: Date.now() })
    const step = this.steps.shift()
    if (step) return step()
    // Nothing scripted: hang like a long poll until aborted.
    return new Promise((_, reject) => {
      const entry = { reject }
      this.hanging.push(entry)
      signal.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')))
    })
  }
  close() {
    this.closed = true
  }
}

/** Times between consecutive calls. */
const gaps = (t: FakeTransport) => t.calls.slice(1).map((c, i) => c.at - t.calls[i].at)

describe('backoffDelay', () => {
  it('doubles from 1s and caps at 30s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ])
    expect(backoffDelay(0)).toBe(0)
  })
})

describe('SyncLoop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('passes next_batch as since and long-polls once caught up', async () => {
    const t = new FakeTransport().succeed('b1').succeed('b2')
    const batches: string[] = []
    const loop = new SyncLoop({ transport: t, onBatch: (r) => batches.push(r.next_batch), pollTimeoutMs: 30000 })
    loop.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(batches).toEqual(['b1', 'b2'])
    expect(t.calls.map((c) => c.request)).toEqual([
      { since: undefined, timeout: 0 }, // initial sync answers at once
      { since: 'b1', timeout: 30000 },
      { since: 'b2', timeout: 30000 },
    ])
    loop.stop()
  })

  it('backs off 1s, 2s, 4s, 8s, 16s, 30s, 30s while failing, retrying with the same token', async () => {
    const t = new FakeTransport().succeed('b1').fail(7).succeed('b2')
    const statuses: SyncStatus[] = []
    const loop = new SyncLoop({ transport: t, onBatch: () => {}, onStatus: (s) => statuses.push(s) })
    loop.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.calls).toHaveLength(2) // b1, then the first failure
    await vi.advanceTimersByTimeAsync(999)
    expect(t.calls).toHaveLength(2) // not before 1s
    await vi.advanceTimersByTimeAsync(1)
    expect(t.calls).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(200_000)
    expect(gaps(t).slice(1, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
    // Every retry resumes from the last good token, asking for an immediate answer.
    expect(t.calls.slice(1, 9).every((c) => c.request.since === 'b1')).toBe(true)
    expect(t.calls[9].request).toEqual({ since: 'b2', timeout: 30000 })
    expect(t.calls.slice(2, 9).every((c) => c.request.timeout === 0)).toBe(true)
    expect(statuses.filter((s) => s.state === 'offline').map((s) => s.state === 'offline' && s.retryInMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ])
    expect(statuses[statuses.length - 1]).toEqual({ state: 'online' })
    expect(loop.nextBatch).toBe('b2')
    loop.stop()
  })

  it('resets the back-off after a success', async () => {
    const t = new FakeTransport().succeed('b1').fail(3).succeed('b2').fail(2).succeed('b3')
    const loop = new SyncLoop({ transport: t, onBatch: () => {} })
    loop.start()
    await vi.advanceTimersByTimeAsync(100_000)
    expect(gaps(t)).toEqual([0, 1000, 2000, 4000, 0, 1000, 2000, 0])
    loop.stop()
  })

  it('retryNow skips the remaining wait', async () => {
    const t = new FakeTransport().fail(3).succeed('b1')
    const loop = new SyncLoop({ transport: t, onBatch: () => {} })
    loop.start()
    await vi.advanceTimersByTimeAsync(1000) // first retry after 1s
    await vi.advanceTimersByTimeAsync(500) // now waiting 2s
    expect(t.calls).toHaveLength(2)
    loop.retryNow()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.calls).toHaveLength(3)
    loop.stop()
  })

  it('honours retry_after_ms on M_LIMIT_EXCEEDED', async () => {
    const limited = new MatrixError(429, 'M_LIMIT_EXCEEDED', 'slow down', { retry_after_ms: 5000 })
    const t = new FakeTransport().fail(1, limited).succeed('b1')
    const loop = new SyncLoop({ transport: t, onBatch: () => {} })
    loop.start()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(gaps(t)[0]).toBe(5000)
    loop.stop()
  })

  it('stops for good on an invalid token and reports it', async () => {
    const t = new FakeTransport().succeed('b1').fail(1, new MatrixError(401, 'M_UNKNOWN_TOKEN', 'gone'))
    const fatal: unknown[] = []
    const statuses: string[] = []
    const loop = new SyncLoop({ transport: t, onBatch: () => {}, onFatal: (e) => fatal.push(e), onStatus: (s) => statuses.push(s.state) })
    loop.start()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(t.calls).toHaveLength(2)
    expect(fatal).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'online', 'stopped'])
    expect(t.closed).toBe(true)
  })

  it('stop() aborts the pending long poll and no further requests are made', async () => {
    const t = new FakeTransport().succeed('b1')
    const batches: string[] = []
    const loop = new SyncLoop({ transport: t, onBatch: (r) => batches.push(r.next_batch) })
    loop.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.calls).toHaveLength(2) // second one hangs
    loop.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.calls).toHaveLength(2)
    expect(loop.currentStatus).toEqual({ state: 'stopped' })
  })

  it('a restart does not leave two loops running', async () => {
    const t = new FakeTransport().fail(1)
    const loop = new SyncLoop({ transport: t, onBatch: () => {} })
    loop.start()
    await vi.advanceTimersByTimeAsync(0) // failed, now sleeping 1s
    expect(vi.getTimerCount()).toBe(1)
    loop.stop()
    expect(vi.getTimerCount()).toBe(0) // the back-off timer is cleared
    loop.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.calls).toHaveLength(2) // one per start, the old loop did not resume
    await vi.advanceTimersByTimeAsync(10_000)
    expect(t.calls).toHaveLength(2) // the new loop's call is hanging (long poll)
    loop.stop()
  })

  it('keeps syncing when applying a batch throws', async () => {
    const t = new FakeTransport().succeed('b1').succeed('b2')
    const seen: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const loop = new SyncLoop({
      transport: t,
      onBatch: (r) => {
        seen.push(r.next_batch)
        if (r.next_batch === 'b1') throw new Error('bug')
      },
    })
    loop.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual(['b1', 'b2'])
    expect(spy).toHaveBeenCalled()
    spy.mockRestore()
    loop.stop()
  })
})
