import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, member, msg, stateEv } from '../test/fixtures'
import { groupTimeline } from './grouping'
import { peopleList, summarizeStateRun } from './stateSummary'

const T = new Date(2024, 4, 1, 9, 0).getTime()
const CAROL = '@carol:hs.test'
const DAN = '@dan:hs.test'

function creation(creator = ALICE) {
  return [
    { ...stateEv('m.room.create', { room_version: '11' }, T, creator) },
    member(creator, 'join', T + 1),
    stateEv('m.room.power_levels', { users: { [creator]: 100 } }, T + 2, creator),
    stateEv('m.room.join_rules', { join_rule: 'invite' }, T + 3, creator),
    stateEv('m.room.name', { name: 'Team' }, T + 4, creator),
  ]
}

describe('summarizeStateRun', () => {
  it('says a room was created and configured in one line', () => {
    const s = summarizeStateRun(creation(), {})
    expect(s?.text).toBe('alice created and configured the room')
    expect(s?.details).toEqual(['alice created the room', 'alice joined', 'alice changed the room name to Team'])
  })

  it('counts people who joined, naming one or two', () => {
    expect(peopleList(['ben'])).toBe('ben')
    expect(peopleList(['ben', 'cy'])).toBe('ben and cy')
    expect(peopleList(['a', 'b', 'c'])).toBe('3 people')
    const joins = [member(BOB, 'join', T), member(CAROL, 'join', T + 1), member(DAN, 'join', T + 2)]
    expect(summarizeStateRun(joins, {})?.text).toBe('3 people joined')
    expect(summarizeStateRun(joins.slice(0, 2), {})?.text).toBe('bob and carol joined')
  })

  it('keeps a single change as it was', () => {
    expect(summarizeStateRun([member(BOB, 'leave', T, { prev: { membership: 'join' } })], {})).toEqual({
      text: 'bob left',
      details: ['bob left'],
    })
  })

  it('sums up invitations and who joined after the creation', () => {
    const run = [
      ...creation(),
      member(BOB, 'invite', T + 5, { sender: ALICE }),
      member(CAROL, 'invite', T + 6, { sender: ALICE }),
      member(BOB, 'join', T + 7, { prev: { membership: 'invite' } }),
    ]
    expect(summarizeStateRun(run, {})?.text).toBe('alice created and configured the room, alice invited bob and carol, bob joined')
  })
})

describe('groupTimeline with runs of state events', () => {
  it('shows a run as one notice with its details, split by messages', () => {
    const events = [...creation(), member(BOB, 'join', T + 10), msg(BOB, 'hi', T + 11), member(CAROL, 'join', T + 12), member(DAN, 'join', T + 13)]
    const items = groupTimeline(events, [], {}, ME).filter((i) => i.kind !== 'day')
    expect(items.map((i) => (i.kind === 'notice' ? i.text : 'messages'))).toEqual([
      'alice created and configured the room, bob joined',
      'messages',
      'carol and dan joined',
    ])
    const first = items[0]
    expect(first.kind === 'notice' && first.details).toHaveLength(4)
  })

  it('a settings change nobody is told about shows nothing', () => {
    const items = groupTimeline([stateEv('m.room.power_levels', {}, T)], [], {}, ME)
    expect(items).toEqual([])
  })
})
