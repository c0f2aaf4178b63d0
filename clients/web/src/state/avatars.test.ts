import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, member, stateEv } from '../test/fixtures'
import { canSetState, memberAvatar, roomAvatar } from './avatars'
import { applyStateEvents } from './events'

function withAvatar(userId: string, url: string) {
  const m = member(userId, 'join', 1)
  return { ...m, content: { ...m.content, avatar_url: url } }
}

describe('avatars', () => {
  it("reads members' and rooms' pictures, ignoring what is not an mxc URI", () => {
    const state = applyStateEvents({}, [withAvatar(ALICE, 'mxc://hs/alice'), withAvatar(BOB, 'https://evil/x.png')])
    expect(memberAvatar(state, ALICE)).toBe('mxc://hs/alice')
    expect(memberAvatar(state, BOB)).toBeUndefined()
    expect(roomAvatar(state)).toBeUndefined()
    expect(roomAvatar(state, ALICE)).toBe('mxc://hs/alice')
    const withRoom = applyStateEvents(state, [stateEv('m.room.avatar', { url: 'mxc://hs/room' }, 2)])
    expect(roomAvatar(withRoom, ALICE)).toBe('mxc://hs/room')
  })
})

describe('canSetState', () => {
  const pl = stateEv(
    'm.room.power_levels',
    { users: { [ALICE]: 100, [BOB]: 50 }, users_default: 0, state_default: 50, events: { 'm.room.name': 75, 'm.room.topic': 0 } },
    1,
  )
  const state = applyStateEvents({}, [stateEv('m.room.create', { creator: ALICE }, 0), pl])

  it('compares my level with the event type’s, else state_default', () => {
    expect(canSetState(state, ALICE, 'm.room.name')).toBe(true)
    expect(canSetState(state, BOB, 'm.room.name')).toBe(false)
    expect(canSetState(state, BOB, 'm.room.avatar')).toBe(true)
    expect(canSetState(state, ME, 'm.room.avatar')).toBe(false)
    expect(canSetState(state, ME, 'm.room.topic')).toBe(true)
  })

  it('without power levels, only the creator may', () => {
    const bare = applyStateEvents({}, [stateEv('m.room.create', { creator: ALICE }, 0)])
    expect(canSetState(bare, ALICE, 'm.room.name')).toBe(true)
    expect(canSetState(bare, BOB, 'm.room.name')).toBe(false)
  })

  it('in room version 12 the creators may, though power levels do not list them', () => {
    const v12 = applyStateEvents({}, [
      stateEv('m.room.create', { room_version: '12', additional_creators: [BOB] }, 0),
      stateEv('m.room.power_levels', { users: {}, users_default: 0, state_default: 50 }, 1),
    ])
    expect(canSetState(v12, ALICE, 'm.room.name')).toBe(true)
    expect(canSetState(v12, BOB, 'm.room.name')).toBe(true)
    expect(canSetState(v12, ME, 'm.room.name')).toBe(false)
    // In version 11 the same content grants nothing beyond the power levels.
    const v11 = applyStateEvents({}, [
      stateEv('m.room.create', { room_version: '11', additional_creators: [BOB] }, 0),
      stateEv('m.room.power_levels', { users: {}, users_default: 0, state_default: 50 }, 1),
    ])
    expect(canSetState(v11, ALICE, 'm.room.name')).toBe(false)
  })
})
