import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, ev, joined, member, msg, stateEv, stripped, syncResp } from '../test/fixtures'
import { reduce } from './reducer'
import { applySync } from './sync'
import { emptyClientState } from './types'

const ROOM = '!room:hs.test'

describe('applySync', () => {
  it('creates joined rooms from an initial sync with state, timeline and prev_batch', () => {
    const s = applySync(
      emptyClientState(ME),
      syncResp('s1', {
        join: {
          [ROOM]: joined([ev('$a', 10), ev('$b', 20)], {
            prevBatch: 'p0',
            state: [stateEv('m.room.name', { name: 'Lobby' }, 1), member(ME, 'join', 2), member(ALICE, 'join', 3)],
          }),
        },
      }),
    )
    const room = s.rooms[ROOM]
    expect(room.timeline.map((e) => e.event_id)).toEqual(['$a', '$b'])
    expect(room.prevBatch).toBe('p0')
    expect(room.state['m.room.name']?.['']?.content.name).toBe('Lobby')
    expect(Object.keys(room.state['m.room.member'] ?? {}).sort()).toEqual([ALICE, ME])
    expect(room.lastActivityTs).toBe(20)
    expect(s.nextBatch).toBe('s1')
    expect(s.synced).toBe(true)
  })

  it('appends incremental timeline events without duplicates and applies timeline state', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 10)], { prevBatch: 'p0' }) } }))
    s = applySync(
      s,
      syncResp('s2', {
        join: { [ROOM]: joined([ev('$a', 10), ev('$b', 20), stateEv('m.room.topic', { topic: 'New topic' }, 30)]) },
      }),
    )
    const room = s.rooms[ROOM]
    expect(room.timeline.map((e) => e.event_id)).toEqual(['$a', '$b', room.timeline[2].event_id])
    expect(room.timeline).toHaveLength(3)
    expect(room.state['m.room.topic']?.['']?.content.topic).toBe('New topic')
    expect(room.prevBatch).toBe('p0') // unchanged by a non-limited batch
    expect(room.lastActivityTs).toBe(30)
  })

  it('replaces the timeline when a batch is limited (gap) and takes its prev_batch', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 10)], { prevBatch: 'p0' }) } }))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([ev('$y', 90), ev('$z', 100)], { limited: true, prevBatch: 'p9' }) } }))
    expect(s.rooms[ROOM].timeline.map((e) => e.event_id)).toEqual(['$y', '$z'])
    expect(s.rooms[ROOM].prevBatch).toBe('p9')
  })

  it('turns an invite into a joined room (invite → join transition)', () => {
    const inviteState = [
      stripped(stateEv('m.room.name', { name: 'Secret' }, 1)),
      stripped(member(ME, 'invite', 2, { sender: ALICE })),
    ]
    let s = applySync(emptyClientState(ME), syncResp('s1', { invite: { [ROOM]: inviteState } }))
    expect(Object.keys(s.invites)).toEqual([ROOM])
    expect(s.rooms[ROOM]).toBeUndefined()

    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([member(ME, 'join', 5)], { prevBatch: 'p1' }) } }))
    expect(s.invites[ROOM]).toBeUndefined()
    expect(s.rooms[ROOM]).toBeDefined()
    expect(s.rooms[ROOM].state['m.room.member']?.[ME]?.content.membership).toBe('join')
  })

  it('removes a room, its invite and its local echoes when it appears under leave', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 10)]) }, invite: { '!other:hs.test': [] } }))
    s = reduce(s, { type: 'echo/queue', roomId: ROOM, txnId: 't1', eventType: 'm.room.message', content: { body: 'x' }, now: 1 })
    expect(s.echoes).toHaveLength(1)
    s = applySync(s, syncResp('s2', { leave: [ROOM, '!other:hs.test'] }))
    expect(s.rooms[ROOM]).toBeUndefined()
    expect(s.invites['!other:hs.test']).toBeUndefined()
    expect(s.echoes).toHaveLength(0)
  })

  it('records an invite for a room we had left and re-joined rooms drop from invites', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 10)]) } }))
    s = applySync(s, syncResp('s2', { invite: { [ROOM]: [stripped(member(ME, 'invite', 20, { sender: BOB }))] } }))
    expect(s.rooms[ROOM]).toBeUndefined()
    expect(s.invites[ROOM].events[0].sender).toBe(BOB)
  })

  it('stores global account data such as m.direct', () => {
    const s = applySync(emptyClientState(ME), syncResp('s1', {}, [{ type: 'm.direct', content: { [ALICE]: [ROOM] } }]))
    expect(s.accountData['m.direct']).toEqual({ [ALICE]: [ROOM] })
  })

  it('does not mutate the previous state', () => {
    const s1 = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$a', 10)]) } }))
    const snapshot = JSON.stringify(s1)
    applySync(s1, syncResp('s2', { join: { [ROOM]: joined([ev('$b', 20)]) }, leave: [] }))
    expect(JSON.stringify(s1)).toBe(snapshot)
  })
})

describe('unread counts from the server', () => {
  const withCounts = (n: number, h: number) => ({
    ...joined([]),
    unread_notifications: { notification_count: n, highlight_count: h },
  })

  it('takes notification_count / highlight_count, keeping the last known when absent', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([msg(ALICE, 'a', 10)]) } }))
    expect(s.rooms[ROOM].notificationCount).toBe(0)
    s = applySync(s, syncResp('s2', { join: { [ROOM]: withCounts(3, 1) } }))
    expect([s.rooms[ROOM].notificationCount, s.rooms[ROOM].highlightCount]).toEqual([3, 1])
    s = applySync(s, syncResp('s3', { join: { [ROOM]: joined([msg(ALICE, 'b', 20)]) } }))
    expect([s.rooms[ROOM].notificationCount, s.rooms[ROOM].highlightCount]).toEqual([3, 1])
    s = applySync(s, syncResp('s4', { join: { [ROOM]: withCounts(0, 0) } }))
    expect(s.rooms[ROOM].notificationCount).toBe(0)
  })

  it('ignores nonsense counts', () => {
    const bad = { ...joined([]), unread_notifications: { notification_count: -4, highlight_count: 'x' as unknown as number } }
    const s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: bad } }))
    expect([s.rooms[ROOM].notificationCount, s.rooms[ROOM].highlightCount]).toEqual([0, 0])
  })

  it('markRead moves our receipt to the event and zeroes the counts until the server says otherwise', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: { ...joined([ev('$a', 10), ev('$b', 20)]), unread_notifications: { notification_count: 2, highlight_count: 1 } } } }))
    s = reduce(s, { type: 'markRead', roomId: ROOM, eventId: '$b', now: 99 })
    expect(s.rooms[ROOM].notificationCount).toBe(0)
    expect(s.rooms[ROOM].highlightCount).toBe(0)
    expect(s.rooms[ROOM].receipts[ME]).toEqual({ eventId: '$b', ts: 99 })
    const same = reduce(s, { type: 'markRead', roomId: ROOM, eventId: '$b', now: 100 })
    expect(same).toBe(s)
    s = applySync(s, syncResp('s2', { join: { [ROOM]: { ...joined([ev('$c', 30)]), unread_notifications: { notification_count: 1, highlight_count: 0 } } } }))
    expect(s.rooms[ROOM].notificationCount).toBe(1)
  })
})
