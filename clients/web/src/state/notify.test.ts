import { describe, expect, it } from 'vitest'
import { ALICE, ME, ev, joined, member, msg, syncResp } from '../test/fixtures'
import { mentions, notificationsFor, notificationText } from './notify'
import { applySync } from './sync'
import { emptyClientState } from './types'

const DM = '!dm:hs.test'
const GROUP = '!group:hs.test'
const direct = [{ type: 'm.direct', content: { [ALICE]: [DM] } }]

function start() {
  return applySync(
    emptyClientState(ME),
    syncResp(
      's1',
      {
        join: {
          [DM]: joined([ev('$old', 1)], { state: [member(ALICE, 'join', 1, { displayname: 'Ana' }), member(ME, 'join', 1)] }),
          [GROUP]: joined([ev('$g', 1)], {
            state: [member(ALICE, 'join', 1, { displayname: 'Ana' }), member(ME, 'join', 1, { displayname: 'Mel' }), { event_id: '$n', type: 'm.room.name', state_key: '', sender: ALICE, origin_server_ts: 1, content: { name: 'Team' } }],
          }),
        },
      },
      direct,
    ),
  )
}

describe('notifications', () => {
  it('nothing for the first sync', () => {
    const resp = syncResp('s1', { join: { [DM]: joined([msg(ALICE, 'hello', 5)]) } }, direct)
    expect(notificationsFor(emptyClientState(ME), applySync(emptyClientState(ME), resp), resp)).toEqual([])
  })

  it('a new DM message from someone else', () => {
    const before = start()
    const resp = syncResp('s2', { join: { [DM]: joined([msg(ALICE, 'hello there', 5), msg(ME, 'mine', 6)]) } })
    const out = notificationsFor(before, applySync(before, resp), resp)
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({ room_id: DM, sender: ALICE, sender_display_name: 'Ana', body: 'hello there', prio: 'normal' })
    expect(out[0].room_name).toBeUndefined()
    expect(notificationText(out[0])).toEqual({ title: 'Ana', body: 'hello there' })
  })

  it('in a group room only mentions (by name, localpart, m.mentions or the highlight count)', () => {
    const before = start()
    const resp = syncResp('s2', {
      join: {
        [GROUP]: joined([
          msg(ALICE, 'lunch?', 5),
          msg(ALICE, 'hey Mel, look', 6),
          msg(ALICE, 'cc me!', 7),
          msg(ALICE, 'x', 8, { content: { body: 'x', 'm.mentions': { user_ids: [ME] } } }),
          msg(ALICE, 'homeless', 9),
        ]),
      },
    })
    const out = notificationsFor(before, applySync(before, resp), resp, 10)
    expect(out.map((p) => p.body)).toEqual(['hey Mel, look', 'cc me!', 'x'])
    expect(out.every((p) => p.prio === 'high' && p.room_name === 'Team')).toBe(true)
    expect(notificationText(out[0])).toEqual({ title: 'Team', body: 'Ana: hey Mel, look' })

    const hl = syncResp('s3', { join: { [GROUP]: { ...joined([msg(ALICE, 'ping', 10)]), unread_notifications: { notification_count: 1, highlight_count: 1 } } } })
    expect(notificationsFor(before, applySync(before, hl), hl).map((p) => p.body)).toEqual(['ping'])
  })

  it('nothing from a room muted with a push rule (m.push_rules account data)', () => {
    const muteDm = {
      type: 'm.push_rules',
      content: {
        global: {
          override: [{ rule_id: DM, enabled: true, conditions: [{ kind: 'event_match', key: 'room_id', pattern: DM }], actions: [] }],
        },
      },
    }
    const before = applySync(start(), syncResp('s2', {}, [muteDm]))
    const resp = syncResp('s3', {
      join: { [DM]: joined([msg(ALICE, 'psst', 5)]), [GROUP]: joined([msg(ALICE, 'hey Mel', 6)]) },
    })
    expect(notificationsFor(before, applySync(before, resp), resp).map((p) => p.room_id)).toEqual([GROUP])
  })

  it('mentions() needs a whole word', () => {
    expect(mentions(msg(ALICE, 'hi me', 1), ME)).toBe(true)
    expect(mentions(msg(ALICE, 'home', 1), ME)).toBe(false)
    expect(mentions(msg(ALICE, 'ping @me:hs.test', 1), ME)).toBe(true)
  })
})
