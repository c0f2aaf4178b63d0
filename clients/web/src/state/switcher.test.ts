import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, joined, member, msg, stateEv, syncResp } from '../test/fixtures'
import { applySync } from './sync'
import { switcherItems } from './switcher'
import { emptyClientState } from './types'

const state = applySync(
  emptyClientState(ME),
  syncResp('s1', {
    join: {
      '!team:hs': joined([msg(ALICE, 'x', 200)], {
        state: [stateEv('m.room.name', { name: 'Team' }, 1), member(ME, 'join', 1), member(ALICE, 'join', 2), member(BOB, 'join', 3)],
      }),
      '!tea:hs': joined([msg(ALICE, 'y', 100)], { state: [stateEv('m.room.name', { name: 'Steam' }, 1), member(ME, 'join', 1)] }),
    },
  }),
)

describe('quick switcher', () => {
  it('rooms by name, prefix first, then people I share rooms with', () => {
    expect(switcherItems(state, 'tea').map((i) => i.name)).toEqual(['Team', 'Steam'])
    expect(switcherItems(state, 'bo')).toEqual([{ kind: 'person', userId: BOB, name: 'bob' }])
    expect(switcherItems(state, '').length).toBe(4)
  })
})
