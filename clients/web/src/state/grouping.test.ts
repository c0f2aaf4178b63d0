import { describe, expect, it } from 'vitest'
import { ALICE, BOB, ME, member, msg } from '../test/fixtures'
import { firstUnread, groupTimeline, type TimelineItem } from './grouping'
import type { LocalEcho } from './types'

const day1 = new Date(2024, 4, 1, 9, 0).getTime()
const day2 = new Date(2024, 4, 2, 9, 0).getTime()
const MIN = 60_000

function shape(items: TimelineItem[]) {
  return items.map((i) =>
    i.kind === 'day' ? 'day' : i.kind === 'notice' ? `notice:${i.text}` : `${i.sender}×${i.messages.length}`,
  )
}

describe('groupTimeline', () => {
  it('groups consecutive messages by sender and splits on day change and membership lines', () => {
    const events = [
      msg(ALICE, 'a1', day1),
      msg(ALICE, 'a2', day1 + MIN),
      msg(BOB, 'b1', day1 + 2 * MIN),
      member(BOB, 'leave', day1 + 3 * MIN, { prev: { membership: 'join' } }),
      msg(ALICE, 'a3', day1 + 4 * MIN),
      msg(ALICE, 'a4', day2),
      member('@carol:hs.test', 'join', day2 + MIN, { displayname: 'Carol' }),
    ]
    expect(shape(groupTimeline(events, [], {}, ME))).toEqual([
      'day',
      `${ALICE}×2`,
      `${BOB}×1`,
      'notice:bob left',
      `${ALICE}×1`,
      'day',
      `${ALICE}×1`,
      'notice:Carol joined',
    ])
  })

  it('appends local echoes as my messages, joining my last group', () => {
    const echo: LocalEcho = {
      txnId: 't1',
      roomId: '!r',
      type: 'm.room.message',
      content: { body: 'hi' },
      status: 'pending',
      createdTs: day1 + 10 * MIN,
      attempts: 1,
    }
    const items = groupTimeline([msg(ME, 'earlier', day1)], [echo], {}, ME)
    expect(shape(items)).toEqual(['day', `${ME}×2`])
    const group = items[1]
    expect(group.kind === 'group' && group.messages[1]).toMatchObject({ key: 't1', status: 'pending', txnId: 't1' })
  })

  it('describes invites, kicks and name changes', () => {
    const events = [
      member(BOB, 'invite', day1, { sender: ALICE }),
      member(BOB, 'leave', day1 + 1, { sender: ALICE, prev: { membership: 'join' } }),
      member(ALICE, 'join', day1 + 2, { displayname: 'Al', prev: { membership: 'join', displayname: 'Alice' } }),
    ]
    // One line for the run; each change in its details.
    const items = groupTimeline(events, [], {}, ME)
    expect(shape(items)).toEqual(['day', 'notice:alice invited bob, alice removed bob, Alice changed their name to Al'])
    expect(items[1].kind === 'notice' && items[1].details).toEqual([
      'alice invited bob',
      'alice removed bob',
      'Alice changed their name to Al',
    ])
  })
})

describe('firstUnread', () => {
  it('is the first message from someone else after my receipt, even when the receipt is on a reaction', () => {
    const mine = msg(ME, 'mine', day1)
    const reaction = { event_id: '$re', type: 'm.reaction', sender: ME, origin_server_ts: day1 + 1, content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: mine.event_id, key: '👍' } } }
    const echo = msg(ME, 'more of mine', day1 + 2)
    const news = msg(ALICE, 'news', day1 + 3)
    const events = [mine, reaction, echo, news]
    const items = groupTimeline(events, [], {}, ME)
    expect(firstUnread(items, '$re', ME, events)).toBe(news.event_id)
    expect(firstUnread(items, news.event_id, ME, events)).toBeUndefined()
    expect(firstUnread(items, '$unknown', ME, events)).toBeUndefined()
    expect(firstUnread(items, undefined, ME, events)).toBeUndefined()
  })
})

describe('relations on their way', () => {
  it('my pending edit shows on my message at once; a failed one does not; neither is a message', () => {
    const mine = msg(ME, 'helo', day1)
    const edit: LocalEcho = {
      txnId: 't1',
      roomId: '!r',
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: '* hello', 'm.new_content': { msgtype: 'm.text', body: 'hello' }, 'm.relates_to': { rel_type: 'm.replace', event_id: mine.event_id } },
      status: 'pending',
      createdTs: day1 + 1,
      attempts: 1,
    }
    const shown = (echo: LocalEcho) =>
      groupTimeline([mine], [echo], {}, ME).flatMap((i) => (i.kind === 'group' ? i.messages.map((m) => [m.content.body, !!m.edited]) : []))
    expect(shown(edit)).toEqual([['hello', true]])
    expect(shown({ ...edit, status: 'failed' })).toEqual([['helo', false]])
  })
})
