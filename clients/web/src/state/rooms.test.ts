import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, joined, member, msg, stateEv, stripped, syncResp } from '../test/fixtures'
import { addDirectRoom, directPartner, directRoomIds, existingDirectRooms } from './dm'
import { reduce } from './reducer'
import { buildInviteList, buildRoomList, roomDisplayName, sortRoomEntries } from './rooms'
import { applySync } from './sync'
import { emptyClientState } from './types'

describe('sortRoomEntries', () => {
  it('orders by latest activity, newest first, ties by name then id', () => {
    const sorted = sortRoomEntries([
      { roomId: '!a', name: 'Alpha', ts: 100 },
      { roomId: '!b', name: 'Beta', ts: 300 },
      { roomId: '!c', name: 'Gamma', ts: 200 },
      { roomId: '!e', name: 'Delta', ts: 200 },
      { roomId: '!d', name: 'Delta', ts: 200 },
      { roomId: '!z', name: 'Empty', ts: 0 },
    ])
    expect(sorted.map((r) => r.roomId)).toEqual(['!b', '!d', '!e', '!c', '!a', '!z'])
  })
})

describe('buildRoomList', () => {
  const sync = syncResp(
    's1',
    {
      join: {
        '!old:hs': joined([msg(ALICE, 'old news', 100)], { state: [stateEv('m.room.name', { name: 'Old' }, 1)] }),
        '!new:hs': joined([msg(BOB, 'fresh', 500)], { state: [stateEv('m.room.name', { name: 'New' }, 1)] }),
        '!dm:hs': joined([msg(ALICE, 'hey you', 300)], {
          state: [member(ME, 'join', 1), member(ALICE, 'join', 2, { displayname: 'Alice' })],
        }),
      },
    },
    [{ type: 'm.direct', content: { [ALICE]: ['!dm:hs'] } }],
  )

  it('splits rooms and DMs (by m.direct) and sorts each by activity', () => {
    const s = applySync(emptyClientState(ME), sync)
    const { rooms, directs } = buildRoomList(s)
    expect(rooms.map((r) => r.name)).toEqual(['New', 'Old'])
    expect(directs.map((r) => r.roomId)).toEqual(['!dm:hs'])
    expect(directs[0].name).toBe('Alice')
    expect(directs[0].preview).toBe('Alice: hey you')
    expect(rooms[0].ts).toBe(500)
  })

  it('moves a room to the top when a new message arrives', () => {
    let s = applySync(emptyClientState(ME), sync)
    s = applySync(s, syncResp('s2', { join: { '!old:hs': joined([msg(ALICE, 'breaking', 900)]) } }))
    const { rooms } = buildRoomList(s)
    expect(rooms.map((r) => r.name)).toEqual(['Old', 'New'])
    expect(rooms[0].preview).toBe('alice: breaking')
    expect(rooms[0].notifications).toBe(0) // counts come from the server only
  })

  it('previews my own pending message', () => {
    let s = applySync(emptyClientState(ME), sync)
    s = reduce(s, { type: 'echo/queue', roomId: '!old:hs', txnId: 't', eventType: 'm.room.message', content: { body: 'typing away' }, now: 1000 })
    const { rooms } = buildRoomList(s)
    expect(rooms[0]).toMatchObject({ roomId: '!old:hs', preview: 'You: typing away', ts: 1000 })
  })

  it('never previews a message that failed to send', () => {
    let s = applySync(emptyClientState(ME), sync)
    s = reduce(s, { type: 'echo/queue', roomId: '!old:hs', txnId: 't', eventType: 'm.room.message', content: { body: 'refused' }, now: 1000 })
    s = reduce(s, { type: 'echo/failed', txnId: 't', error: 'too large' })
    const old = buildRoomList(s).rooms.find((r) => r.roomId === '!old:hs')
    expect(old?.preview).not.toContain('refused')
    expect(old?.ts).not.toBe(1000)
  })
})

describe('room names and invites', () => {
  it('falls back from name to alias to member names', () => {
    const s = applySync(
      emptyClientState(ME),
      syncResp('s1', {
        join: {
          '!a:hs': joined([], { state: [stateEv('m.room.canonical_alias', { alias: '#a:hs' }, 1)] }),
          '!b:hs': joined([], { state: [member(ME, 'join', 1), member(BOB, 'invite', 2, { sender: ME, displayname: 'Bobby' })] }),
          '!c:hs': joined([], { state: [member(ME, 'join', 1)] }),
        },
      }),
    )
    expect(roomDisplayName(s.rooms['!a:hs'], ME)).toBe('#a:hs')
    expect(roomDisplayName(s.rooms['!b:hs'], ME)).toBe('Bobby')
    expect(roomDisplayName(s.rooms['!c:hs'], ME)).toBe('Empty room')
  })

  it('describes invites with inviter and DM flag', () => {
    const s = applySync(
      emptyClientState(ME),
      syncResp('s1', {
        invite: {
          '!i:hs': [
            stripped(member(ALICE, 'join', 1, { displayname: 'Alice' })),
            stripped(member(ME, 'invite', 2, { sender: ALICE, isDirect: true })),
          ],
        },
      }),
    )
    expect(buildInviteList(s)).toEqual([
      { roomId: '!i:hs', name: 'Alice', inviter: ALICE, inviterName: 'Alice', isDirect: true },
    ])
  })
})

describe('m.direct helpers', () => {
  it('detects DM rooms and partners', () => {
    const content = { [ALICE]: ['!1', '!2'], [BOB]: ['!3'], junk: 'not a list' }
    expect([...directRoomIds(content)].sort()).toEqual(['!1', '!2', '!3'])
    expect(directPartner(content, '!3')).toBe(BOB)
    expect(directPartner(content, '!9')).toBeUndefined()
  })

  it('adds rooms without duplicates and without dropping other users', () => {
    const c1 = addDirectRoom({ [BOB]: ['!3'] }, ALICE, '!1')
    expect(c1).toEqual({ [BOB]: ['!3'], [ALICE]: ['!1'] })
    expect(addDirectRoom(c1, ALICE, '!1')).toEqual(c1)
    expect(addDirectRoom(undefined, ALICE, '!1')).toEqual({ [ALICE]: ['!1'] })
  })

  it('finds an existing joined DM with a user', () => {
    expect(existingDirectRooms({ [ALICE]: ['!gone', '!here'] }, ALICE, ['!here', '!x'])).toEqual(['!here'])
  })
})
