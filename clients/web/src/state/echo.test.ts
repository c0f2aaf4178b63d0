import { describe, expect, it } from 'vitest'
import type { MatrixEvent } from '../api/types'
import { ME, joined, syncResp } from '../test/fixtures'
import { groupTimeline } from './grouping'
import { newTxnId } from './echo'
import { reduce, type Action } from './reducer'
import { applySync } from './sync'
import { emptyClientState, type ClientState } from './types'

const ROOM = '!r:hs.test'

function start(): ClientState {
  return applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([], { prevBatch: 'p' }) } }))
}

const queue = (txnId: string, body = 'hello'): Action => ({
  type: 'echo/queue',
  roomId: ROOM,
  txnId,
  eventType: 'm.room.message',
  content: { msgtype: 'm.text', body },
  now: 1000,
})

function remote(eventId: string, txnId?: string, body = 'hello'): MatrixEvent {
  return {
    event_id: eventId,
    type: 'm.room.message',
    sender: ME,
    origin_server_ts: 1001,
    content: { msgtype: 'm.text', body },
    ...(txnId ? { unsigned: { transaction_id: txnId } } : {}),
  }
}

/** What the timeline would show: server events plus remaining echoes. */
function shown(s: ClientState) {
  const items = groupTimeline(
    s.rooms[ROOM].timeline,
    s.echoes.filter((e) => e.roomId === ROOM),
    s.rooms[ROOM].state,
    ME,
  )
  return items.flatMap((i) => (i.kind === 'group' ? i.messages.map((m) => `${m.content.body}:${m.status}`) : []))
}

describe('local echo', () => {
  it('shows a message as pending at once', () => {
    const s = reduce(start(), queue('t1'))
    expect(s.echoes).toMatchObject([{ txnId: 't1', status: 'pending', attempts: 1 }])
    expect(shown(s)).toEqual(['hello:pending'])
  })

  it('pending → sent when the server answers, then replaced by the synced event', () => {
    let s = reduce(start(), queue('t1'))
    s = reduce(s, { type: 'echo/sent', txnId: 't1', eventId: '$e1' })
    expect(s.echoes[0]).toMatchObject({ status: 'sent', eventId: '$e1' })
    expect(shown(s)).toEqual(['hello:sent'])
    // The event comes down sync (other clients' view: no transaction id needed, event id matches).
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([remote('$e1')]) } }))
    expect(s.echoes).toHaveLength(0)
    expect(shown(s)).toEqual(['hello:remote'])
  })

  it('pending → gone when the event with unsigned.transaction_id arrives via sync first', () => {
    let s = reduce(start(), queue('t1'))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([remote('$e1', 't1')]) } }))
    expect(s.echoes).toHaveLength(0)
    expect(shown(s)).toEqual(['hello:remote'])
    // The late HTTP answer changes nothing and does not resurrect the echo.
    const after = reduce(s, { type: 'echo/sent', txnId: 't1', eventId: '$e1' })
    expect(after).toBe(s)
  })

  it('drops the echo when the server answers after sync already delivered the event without a txn id', () => {
    let s = reduce(start(), queue('t1'))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([remote('$e1')]) } }))
    expect(s.echoes).toHaveLength(1)
    s = reduce(s, { type: 'echo/sent', txnId: 't1', eventId: '$e1' })
    expect(s.echoes).toHaveLength(0)
    expect(shown(s)).toEqual(['hello:remote'])
  })

  it('failed → retry keeps the same transaction id and goes back to pending', () => {
    let s = reduce(start(), queue('t1'))
    s = reduce(s, { type: 'echo/failed', txnId: 't1', error: 'offline' })
    expect(s.echoes[0]).toMatchObject({ txnId: 't1', status: 'failed', error: 'offline' })
    expect(shown(s)).toEqual(['hello:failed'])
    s = reduce(s, { type: 'echo/retry', txnId: 't1' })
    expect(s.echoes).toHaveLength(1)
    expect(s.echoes[0]).toMatchObject({ txnId: 't1', status: 'pending', attempts: 2 })
    expect(s.echoes[0].error).toBeUndefined()
    s = reduce(s, { type: 'echo/sent', txnId: 't1', eventId: '$e1' })
    expect(s.echoes[0]).toMatchObject({ txnId: 't1', status: 'sent' })
  })

  it('a failed echo whose event shows up in sync (request did reach the server) is resolved', () => {
    let s = reduce(start(), queue('t1'))
    s = reduce(s, { type: 'echo/failed', txnId: 't1', error: 'timeout' })
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([remote('$e1', 't1')]) } }))
    expect(s.echoes).toHaveLength(0)
  })

  it('a sent echo cannot be marked failed, and only failed echoes can be retried', () => {
    let s = reduce(start(), queue('t1'))
    s = reduce(s, { type: 'echo/sent', txnId: 't1', eventId: '$e1' })
    expect(reduce(s, { type: 'echo/failed', txnId: 't1', error: 'x' })).toBe(s)
    expect(reduce(s, { type: 'echo/retry', txnId: 't1' })).toBe(s)
  })

  it('keeps several echoes in send order and matches each by its own txn id', () => {
    let s = reduce(start(), queue('t1', 'one'))
    s = reduce(s, queue('t2', 'two'))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([remote('$e2', 't2', 'two')]) } }))
    expect(s.echoes.map((e) => e.txnId)).toEqual(['t1'])
    expect(shown(s)).toEqual(['two:remote', 'one:pending'])
  })

  it('ignores transaction ids from another room', () => {
    let s = reduce(start(), queue('t1'))
    s = applySync(s, syncResp('s2', { join: { '!other:hs.test': joined([remote('$x', 't1')]) } }))
    expect(s.echoes).toHaveLength(1)
  })

  it('generates distinct transaction ids', () => {
    const set = new Set(Array.from({ length: 200 }, () => newTxnId(42)))
    expect(set.size).toBe(200)
  })
})
