import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeSockets, syncFrame } from '../test/fakeSocket'
import { SyncLoop } from './loop'
import { WsSyncTransport } from './wsTransport'

const URL = 'ws://hs.test/_matrix/client/unstable/homeserver.sync/ws'
const flush = () => vi.advanceTimersByTimeAsync(0)

/** The stream of an OAuth session: the token comes from a provider that refreshes. */
function setup() {
  const sockets = fakeSockets()
  let token = 'at0'
  const refreshedAfter: string[] = []
  const ws = new WsSyncTransport({
    factory: sockets.factory,
    url: URL,
    accessToken: async () => token,
    refreshToken: async (rejected) => {
      refreshedAfter.push(rejected)
      token = `at${refreshedAfter.length}`
      return token
    },
  })
  const applied: string[] = []
  const fatal: unknown[] = []
  const statuses: string[] = []
  const loop = new SyncLoop({
    transport: ws,
    onBatch: (r) => applied.push(r.next_batch),
    onFatal: (e) => fatal.push(e),
    onStatus: (s) => statuses.push(s.state),
  })
  return {
    ...sockets,
    ws,
    loop,
    applied,
    fatal,
    statuses,
    refreshedAfter,
    setToken: (t: string) => {
      token = t
    },
  }
}

describe('the stream of a session that refreshes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('refreshes when the server ends the stream for an expired token (4001), then resumes from the last applied batch', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    const first = t.last()
    first.accept()
    expect(first.sent[0]).toMatchObject({ type: 'start', access_token: 'at0' })
    first.receive(syncFrame(1, null, 'b1', '!r:hs.test', ['$1']))
    await flush()

    // At a heartbeat the server finds the token expired: error frame, then close 4001.
    first.receive({ type: 'error', errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown or expired access token', soft_logout: true })
    first.drop(4001, 'Unknown or expired access token')
    await flush()

    expect(t.refreshedAfter).toEqual(['at0'])
    const second = t.last()
    expect(second).not.toBe(first)
    second.accept()
    expect(second.sent[0]).toMatchObject({ type: 'start', access_token: 'at1', since: 'b1' })
    second.receive(syncFrame(1, 'b1', 'b2', '!r:hs.test', ['$2']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2'])
    expect(t.fatal).toEqual([])
    // No offline blip on the way.
    expect(t.statuses).not.toContain('offline')
    t.loop.stop()
  })

  it('reconnects with the new token after a refresh, resuming without gap or duplicate', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    const first = t.last()
    first.accept()
    first.receive(syncFrame(1, null, 'b1', '!r:hs.test', ['$1']))
    first.receive(syncFrame(2, 'b1', 'b2', '!r:hs.test', ['$2']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2'])

    t.setToken('at-new')
    t.ws.reauthenticate()
    await flush()
    expect(first.closedWith).toMatchObject({ code: 1000, reason: 'reauthenticate' })
    const second = t.last()
    expect(second).not.toBe(first)
    second.accept()
    expect(second.sent[0]).toMatchObject({ type: 'start', access_token: 'at-new', since: 'b2' })
    second.receive(syncFrame(1, 'b2', 'b3', '!r:hs.test', ['$3']))
    await flush()
    expect(t.applied).toEqual(['b1', 'b2', 'b3'])
    expect(t.refreshedAfter).toEqual([])
    expect(t.statuses).not.toContain('offline')
    t.loop.stop()
  })

  it('a token refused without soft logout (revoked) ends the session: no refresh', async () => {
    const t = setup()
    t.loop.start()
    await flush()
    const s = t.last()
    s.open()
    s.receive({ type: 'error', errcode: 'M_UNKNOWN_TOKEN', error: 'revoked', soft_logout: false })
    s.drop(4001, 'revoked')
    await flush()
    expect(t.refreshedAfter).toEqual([])
    expect(t.fatal).toHaveLength(1)
    expect(t.sockets).toHaveLength(1)
  })
})
