import { describe, expect, it } from 'vitest'
import type { PushRulesContent } from '../api/types'
import { globMatches, isRoomMuted, muteRuleBody, muteRulesFor, mutedRoomIds, withRoomMuted } from './pushRules'

const A = '!a:hs.test'
const B = '!b:hs.test'

/** Roughly what the server sends: defaults plus user rules. */
function ruleset(extra: { override?: unknown[]; room?: unknown[] } = {}): PushRulesContent {
  return {
    global: {
      override: [
        { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] },
        ...((extra.override ?? []) as never[]),
        { rule_id: '.m.rule.suppress_notices', default: true, enabled: true, conditions: [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }], actions: [] },
      ],
      content: [],
      room: (extra.room ?? []) as never[],
      sender: [],
      underride: [{ rule_id: '.m.rule.message', default: true, enabled: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }], actions: ['notify'] }],
    },
  }
}

const overrideMute = (roomId: string, over: object = {}) => ({ rule_id: roomId, default: false, enabled: true, ...muteRuleBody(roomId), ...over })

describe('muted rooms from push rules', () => {
  it('nothing is muted by the default rules (the disabled master rule and notice rule included)', () => {
    expect(isRoomMuted(ruleset(), A)).toBe(false)
    expect(isRoomMuted(undefined, A)).toBe(false)
    expect(isRoomMuted({}, A)).toBe(false)
  })

  it('an override rule on room_id with no actions mutes that room only', () => {
    const rules = ruleset({ override: [overrideMute(A)] })
    expect(isRoomMuted(rules, A)).toBe(true)
    expect(isRoomMuted(rules, B)).toBe(false)
    expect(muteRulesFor(rules, A)).toEqual([{ kind: 'override', ruleId: A }])
    expect([...mutedRoomIds(rules, [A, B])]).toEqual([A])
  })

  it('a room rule with no actions (or legacy dont_notify) mutes too', () => {
    expect(isRoomMuted(ruleset({ room: [{ rule_id: A, default: false, enabled: true, actions: [] }] }), A)).toBe(true)
    expect(isRoomMuted(ruleset({ room: [{ rule_id: A, default: false, enabled: true, actions: ['dont_notify'] }] }), A)).toBe(true)
    expect(muteRulesFor(ruleset({ room: [{ rule_id: A, actions: [] }] }), A)).toEqual([{ kind: 'room', ruleId: A }])
  })

  it('disabled rules, rules that notify, and rules with other conditions do not mute', () => {
    expect(isRoomMuted(ruleset({ override: [overrideMute(A, { enabled: false })] }), A)).toBe(false)
    expect(isRoomMuted(ruleset({ override: [overrideMute(A, { actions: ['notify'] })] }), A)).toBe(false)
    expect(isRoomMuted(ruleset({ room: [{ rule_id: A, actions: ['notify', { set_tweak: 'sound', value: 'default' }] }] }), A)).toBe(false)
    const narrower = overrideMute(A, { conditions: [...muteRuleBody(A).conditions!, { kind: 'event_match', key: 'sender', pattern: '@x:hs.test' }] })
    expect(isRoomMuted(ruleset({ override: [narrower] }), A)).toBe(false)
    expect(isRoomMuted(ruleset({ override: [overrideMute(A, { conditions: [] })] }), A)).toBe(false)
  })

  it('room_id patterns are globs', () => {
    const rules = ruleset({ override: [{ rule_id: 'all-b', enabled: true, conditions: [{ kind: 'event_match', key: 'room_id', pattern: '!b*' }], actions: [] }] })
    expect(isRoomMuted(rules, B)).toBe(true)
    expect(isRoomMuted(rules, A)).toBe(false)
    expect(globMatches('!a:hs.?est', A)).toBe(true)
    expect(globMatches('!a:hs.test', '!a:hs.test2')).toBe(false)
    expect(globMatches('!a.b', '!aXb')).toBe(false)
  })

  it('the mute rule body is the documented override', () => {
    expect(muteRuleBody(A)).toEqual({ conditions: [{ kind: 'event_match', key: 'room_id', pattern: A }], actions: [] })
  })

  it('withRoomMuted: local view of a mute and an unmute', () => {
    const muted = withRoomMuted(ruleset(), A, true)
    expect(isRoomMuted(muted, A)).toBe(true)
    expect(muted.global?.override?.[0].rule_id).toBe('.m.rule.master')
    expect(muted.global?.override?.[1].rule_id).toBe(A)
    expect(muted.global?.underride).toEqual(ruleset().global?.underride)
    const both = withRoomMuted(ruleset({ room: [{ rule_id: A, actions: [] }] }), A, true)
    expect(muteRulesFor(both, A)).toEqual([{ kind: 'override', ruleId: A }])
    const unmuted = withRoomMuted(ruleset({ override: [overrideMute(A), overrideMute(B)], room: [{ rule_id: A, actions: [] }] }), A, false)
    expect(isRoomMuted(unmuted, A)).toBe(false)
    expect(isRoomMuted(unmuted, B)).toBe(true)
    expect(withRoomMuted(undefined, A, true).global?.override?.map((r) => r.rule_id)).toEqual([A])
  })
})
