import type { PushCondition, PushRule, PushRuleBody, PushRuleKind, PushRuleset, PushRulesContent } from '../api/types'

/**
 * Muted rooms, read from the user's push rules (`GET /pushrules/`, kept
 * current by the `m.push_rules` account data in sync).
 *
 * A room is muted when an enabled rule silences all of it, as the server
 * decides it (homeserver/push/evaluator.py `room_is_muted`):
 *   - an `override` rule whose conditions are all `event_match` on `room_id`
 *     matching the room, with no actions — how this client (and the server's
 *     documentation) mutes a room, so that mentions are muted too;
 *   - a `room` rule with the room id as rule id and no actions (what some
 *     clients use).
 * The legacy actions `dont_notify` and `coalesce` count as none.
 */

const LEGACY_ACTIONS = new Set(['dont_notify', 'coalesce'])

function rulesetOf(content: unknown): PushRuleset {
  if (!content || typeof content !== 'object') return {}
  const global = (content as PushRulesContent).global
  return global && typeof global === 'object' ? global : {}
}

function rules(ruleset: PushRuleset, kind: PushRuleKind): PushRule[] {
  const list = ruleset[kind]
  return Array.isArray(list) ? list.filter((r): r is PushRule => !!r && typeof r === 'object') : []
}

function enabled(rule: PushRule): boolean {
  return rule.enabled === undefined || rule.enabled === true
}

function silent(rule: PushRule): boolean {
  const actions = Array.isArray(rule.actions) ? rule.actions : []
  return actions.every((a) => typeof a === 'string' && LEGACY_ACTIONS.has(a))
}

/** A Matrix glob (`*`, `?`) matched against the whole value, as event_match does. */
export function globMatches(pattern: string, value: string): boolean {
  let re = '^'
  for (const ch of pattern) {
    if (ch === '*') re += '.*'
    else if (ch === '?') re += '.'
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(re + '$', 's').test(value)
}

function onlyTargetsRoom(conditions: PushCondition[] | undefined, roomId: string): boolean {
  if (!Array.isArray(conditions) || conditions.length === 0) return false
  return conditions.every(
    (c) =>
      !!c &&
      c.kind === 'event_match' &&
      c.key === 'room_id' &&
      typeof c.pattern === 'string' &&
      globMatches(c.pattern, roomId),
  )
}

/** The user rules that mute `roomId` (what to delete to unmute it). */
export function muteRulesFor(content: unknown, roomId: string): { kind: PushRuleKind; ruleId: string }[] {
  const ruleset = rulesetOf(content)
  const out: { kind: PushRuleKind; ruleId: string }[] = []
  for (const rule of rules(ruleset, 'override')) {
    if (rule.default !== true && enabled(rule) && silent(rule) && onlyTargetsRoom(rule.conditions, roomId)) {
      out.push({ kind: 'override', ruleId: rule.rule_id })
    }
  }
  for (const rule of rules(ruleset, 'room')) {
    if (rule.default !== true && rule.rule_id === roomId && enabled(rule) && silent(rule)) {
      out.push({ kind: 'room', ruleId: rule.rule_id })
    }
  }
  return out
}

/** Whether the user's push rules mute `roomId`. */
export function isRoomMuted(content: unknown, roomId: string): boolean {
  return muteRulesFor(content, roomId).length > 0
}

/** Which of `roomIds` are muted. */
export function mutedRoomIds(content: unknown, roomIds: Iterable<string>): Set<string> {
  const out = new Set<string>()
  if (!content) return out
  for (const roomId of roomIds) if (isRoomMuted(content, roomId)) out.add(roomId)
  return out
}

/** The rule that mutes a room: `PUT /pushrules/global/override/{roomId}` with this body. */
export function muteRuleBody(roomId: string): PushRuleBody {
  return { conditions: [{ kind: 'event_match', key: 'room_id', pattern: roomId }], actions: [] }
}

/**
 * The rules as they will be once the server has applied a mute or unmute
 * (shown right away; the server's `m.push_rules` replaces it in the next sync).
 */
export function withRoomMuted(content: unknown, roomId: string, muted: boolean): PushRulesContent {
  const ruleset = rulesetOf(content)
  const gone = new Set(muteRulesFor(content, roomId).map((r) => `${r.kind}\u0000${r.ruleId}`))
  const keep = (kind: PushRuleKind) => rules(ruleset, kind).filter((r) => !gone.has(`${kind}\u0000${r.rule_id}`))
  const override = keep('override')
  if (muted) {
    const rule: PushRule = { rule_id: roomId, default: false, enabled: true, ...muteRuleBody(roomId) }
    // After the master rule, before the other user rules (a new rule is the most important user rule).
    const master = override.findIndex((r) => r.rule_id === '.m.rule.master')
    override.splice(master + 1, 0, rule)
  }
  return { ...(content as PushRulesContent), global: { ...ruleset, override, room: keep('room') } }
}
