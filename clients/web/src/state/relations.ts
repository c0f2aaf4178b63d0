import type { JsonObject, MatrixEvent } from '../api/types'
import { str } from './events'

/**
 * Edits (`m.replace` relations) and redactions.
 *
 * - A redaction (`m.room.redaction`, target in `content.redacts` since room
 *   v11, top-level `redacts` before) strips the target's content; the target
 *   stays in the timeline and shows as "Message deleted".
 * - An edit is an `m.room.message` whose `m.relates_to` is
 *   `{rel_type: "m.replace", event_id}`; the target then shows the edit's
 *   `m.new_content` (the newest edit by the original sender wins). Edits are
 *   never shown as messages of their own.
 */

/** Id of the event a redaction removes, if `e` is a redaction. */
export function redactedTarget(e: MatrixEvent): string | undefined {
  if (e.type !== 'm.room.redaction') return undefined
  return str(e.content.redacts) ?? str((e as unknown as JsonObject).redacts)
}

/** Id of the event `e` edits, if it is an edit. */
export function editTarget(e: MatrixEvent): string | undefined {
  if (e.type !== 'm.room.message') return undefined
  const rel = e.content['m.relates_to']
  if (!rel || typeof rel !== 'object') return undefined
  const r = rel as JsonObject
  return r.rel_type === 'm.replace' ? str(r.event_id) : undefined
}

export function isRedactedEvent(e: MatrixEvent): boolean {
  return e.unsigned?.redacted_because !== undefined
}

/** A copy of `e` with its content removed, as the server would serve it after a redaction. */
export function redactEvent(e: MatrixEvent, because: MatrixEvent): MatrixEvent {
  if (typeof e.state_key === 'string') return e // state keeps its meaning; only messages are hidden
  return { ...e, content: {}, unsigned: { ...(e.unsigned ?? {}), redacted_because: because } }
}

/**
 * Applies the redactions among `events` to `timeline` (targets present in it
 * lose their content). Returns the same array when nothing changed.
 */
export function applyRedactions(timeline: MatrixEvent[], events: readonly MatrixEvent[]): MatrixEvent[] {
  const targets = new Map<string, MatrixEvent>()
  for (const e of events) {
    const t = redactedTarget(e)
    if (t) targets.set(t, e)
  }
  if (targets.size === 0) return timeline
  let out = timeline
  for (let i = 0; i < timeline.length; i++) {
    const because = targets.get(timeline[i].event_id)
    if (!because || isRedactedEvent(timeline[i])) continue
    const redacted = redactEvent(timeline[i], because)
    if (redacted === timeline[i]) continue
    if (out === timeline) out = timeline.slice()
    out[i] = redacted
  }
  return out
}

/**
 * The newest edit of each event, keyed by the edited event's id. Only edits
 * by the original sender count (anyone else's "edit" is ignored); redacted
 * edits are ignored too.
 */
export function collectEdits(events: readonly MatrixEvent[]): Map<string, MatrixEvent> {
  const senders = new Map<string, string>()
  for (const e of events) senders.set(e.event_id, e.sender)
  const edits = new Map<string, MatrixEvent>()
  for (const e of events) {
    const target = editTarget(e)
    if (!target || isRedactedEvent(e)) continue
    const original = senders.get(target)
    if (original !== undefined && original !== e.sender) continue
    const newContent = e.content['m.new_content']
    if (!newContent || typeof newContent !== 'object') continue
    const prev = edits.get(target)
    if (!prev || e.origin_server_ts >= prev.origin_server_ts) edits.set(target, e)
  }
  return edits
}

/** The content to show for `e` given the edits known: the newest edit's `m.new_content`, or its own. */
export function displayedContent(e: MatrixEvent, edits: Map<string, MatrixEvent>): { content: JsonObject; edited: boolean } {
  if (isRedactedEvent(e) || Object.keys(e.content).length === 0) return { content: e.content, edited: false }
  const edit = edits.get(e.event_id)
  if (!edit) return { content: e.content, edited: false }
  return { content: edit.content['m.new_content'] as JsonObject, edited: true }
}

/** Whether an event is only bookkeeping for others (an edit or a redaction), never shown by itself. */
export function isRelationOnly(e: MatrixEvent): boolean {
  return e.type === 'm.room.redaction' || e.type === 'm.reaction' || editTarget(e) !== undefined
}

/** Id of the message `e` replies to (`m.relates_to.m.in_reply_to.event_id`), if any. */
export function replyTarget(e: { content: JsonObject }): string | undefined {
  const rel = e.content['m.relates_to']
  if (!rel || typeof rel !== 'object') return undefined
  const inReplyTo = (rel as JsonObject)['m.in_reply_to']
  if (!inReplyTo || typeof inReplyTo !== 'object') return undefined
  return str((inReplyTo as JsonObject).event_id)
}

/** An `m.reaction` annotation: which event, which key (usually an emoji). */
export function annotationOf(e: MatrixEvent): { eventId: string; key: string } | undefined {
  if (e.type !== 'm.reaction' || isRedactedEvent(e)) return undefined
  const rel = e.content['m.relates_to']
  if (!rel || typeof rel !== 'object') return undefined
  const r = rel as JsonObject
  const eventId = str(r.event_id)
  const key = str(r.key)
  if (r.rel_type !== 'm.annotation' || !eventId || !key) return undefined
  return { eventId, key }
}

export interface ReactionSummary {
  key: string
  /** Who reacted with this key, in the order they did (each once). */
  senders: string[]
  /** The event id of my own reaction with this key, when I reacted (to take it back). */
  mine?: string
}

/**
 * Reactions aggregated per target event and key (each sender counted once
 * per key, as the spec asks), keys in the order they first appeared.
 */
export function collectReactions(events: readonly MatrixEvent[], userId: string): Map<string, ReactionSummary[]> {
  const out = new Map<string, ReactionSummary[]>()
  for (const e of events) {
    const a = annotationOf(e)
    if (!a) continue
    let list = out.get(a.eventId)
    if (!list) out.set(a.eventId, (list = []))
    let entry = list.find((r) => r.key === a.key)
    if (!entry) list.push((entry = { key: a.key, senders: [] }))
    if (!entry.senders.includes(e.sender)) entry.senders.push(e.sender)
    if (e.sender === userId) entry.mine = e.event_id
  }
  return out
}
