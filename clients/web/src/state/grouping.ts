import type { JsonObject, MatrixEvent } from '../api/types'
import { describeStateChange } from './events'
import { summarizeStateRun } from './stateSummary'
import { collectEdits, collectReactions, displayedContent, isRedactedEvent, isRelationOnly, replyTarget, type ReactionSummary } from './relations'
import type { LocalEcho, StateMap } from './types'

export type MessageStatus = 'remote' | 'pending' | 'sent' | 'failed'

export interface DisplayMessage {
  key: string
  eventId?: string
  txnId?: string
  sender: string
  ts: number
  type: string
  content: JsonObject
  status: MessageStatus
  error?: string
  /** Shown with its newest edit's content. */
  edited?: boolean
  /** Deleted (redacted): shown as "Message deleted". */
  redacted?: boolean
  /** The message this one replies to. */
  replyTo?: string
  /** Reactions, per key. */
  reactions?: ReactionSummary[]
}

export type TimelineItem =
  | { kind: 'day'; key: string; ts: number }
  | { kind: 'group'; key: string; sender: string; messages: DisplayMessage[] }
  /** One state change, or a run of them summed up in one line (`details`: each change). */
  | { kind: 'notice'; key: string; ts: number; text: string; eventId: string; details?: string[] }

/** Local calendar day of a timestamp, as YYYY-MM-DD. */
export function dayKey(ts: number): string {
  const d = new Date(ts)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

const MESSAGE_TYPES = new Set(['m.room.message', 'm.room.encrypted', 'm.sticker'])

/**
 * Turns a room's timeline plus its local echoes into display items: day
 * separators, runs of consecutive messages by the same sender on the same day,
 * and one-line notices for membership and other state changes. Echoes come
 * last (they are newer than anything the server has confirmed to us).
 */
export function groupTimeline(
  events: readonly MatrixEvent[],
  echoes: readonly LocalEcho[],
  state: StateMap,
  userId: string,
): TimelineItem[] {
  const items: TimelineItem[] = []
  let currentDay: string | null = null
  let group: Extract<TimelineItem, { kind: 'group' }> | null = null

  const startDayIfNeeded = (ts: number) => {
    const day = dayKey(ts)
    if (day !== currentDay) {
      currentDay = day
      items.push({ kind: 'day', key: `day-${day}`, ts })
      group = null
    }
  }

  const addMessage = (m: DisplayMessage) => {
    startDayIfNeeded(m.ts)
    const g = group as Extract<TimelineItem, { kind: 'group' }> | null
    if (g && g.sender === m.sender) {
      g.messages.push(m)
    } else {
      group = { kind: 'group', key: `group-${m.key}`, sender: m.sender, messages: [m] }
      items.push(group)
    }
  }

  // Consecutive state events (same day, no message between) become one line.
  let run: MatrixEvent[] = []
  const flushRun = () => {
    if (run.length === 0) return
    const summary = summarizeStateRun(run, state)
    const first = run[0]
    run = []
    if (!summary) return
    items.push({
      kind: 'notice',
      key: first.event_id,
      ts: first.origin_server_ts,
      text: summary.text,
      eventId: first.event_id,
      ...(summary.details.length > 1 ? { details: summary.details } : {}),
    })
    group = null
  }

  // My edits and reactions still on their way count already (they are never messages of their own).
  const relationEchoes = echoes.filter((e) => isRelationEcho(e) && e.status !== 'failed').map((echo) => echoAsEvent(echo, userId))
  const withEchoes = relationEchoes.length ? [...events, ...relationEchoes] : events
  const edits = collectEdits(withEchoes)
  const reactions = collectReactions(withEchoes, userId)
  for (const e of events) {
    if (isRelationOnly(e)) continue
    if (MESSAGE_TYPES.has(e.type)) {
      flushRun()
      const { content, edited } = displayedContent(e, edits)
      const redacted = isRedactedEvent(e) || Object.keys(e.content).length === 0
      addMessage({
        key: e.event_id,
        eventId: e.event_id,
        sender: e.sender,
        ts: e.origin_server_ts,
        type: e.type,
        content,
        status: 'remote',
        ...(edited ? { edited } : {}),
        ...(redacted ? { redacted } : {}),
        ...(!redacted && replyTarget(e) ? { replyTo: replyTarget(e) } : {}),
        ...(!redacted && reactions.has(e.event_id) ? { reactions: reactions.get(e.event_id) } : {}),
      })
      continue
    }
    if (typeof e.state_key !== 'string') continue
    if (run.length > 0 && dayKey(run[0].origin_server_ts) !== dayKey(e.origin_server_ts)) flushRun()
    if (run.length === 0 && describeStateChange(e, state) === null && e.type !== 'm.room.create') {
      // A lone settings change nobody is told about does not start a run (it may join one).
      continue
    }
    if (run.length === 0) startDayIfNeeded(e.origin_server_ts)
    run.push(e)
  }
  flushRun()

  for (const echo of echoes) {
    if (isRelationEcho(echo)) continue
    const replyTo = replyTarget(echo)
    addMessage({
      ...(replyTo ? { replyTo } : {}),
      key: echo.txnId, // stable across pending → sent → failed → retry
      txnId: echo.txnId,
      eventId: echo.eventId,
      sender: userId,
      ts: echo.createdTs,
      type: echo.type,
      content: echo.content,
      status: echo.status,
      error: echo.error,
    })
  }
  return items
}

/** A local echo that is an edit or a reaction (shown on its target, never as a message). */
export function isRelationEcho(echo: LocalEcho): boolean {
  if (echo.type === 'm.reaction') return true
  const rel = echo.content['m.relates_to']
  return !!rel && typeof rel === 'object' && (rel as JsonObject).rel_type === 'm.replace'
}

function echoAsEvent(echo: LocalEcho, userId: string): MatrixEvent {
  return {
    event_id: echo.eventId ?? echo.txnId,
    type: echo.type,
    sender: userId,
    origin_server_ts: echo.createdTs,
    content: echo.content,
  }
}

/**
 * Key of the first message from someone else after `marker` (my receipt,
 * which may sit on an event never shown, like a reaction), or undefined
 * when nothing is unread or the marker is not loaded.
 */
export function firstUnread(items: TimelineItem[], marker: string | undefined, userId: string, events: readonly MatrixEvent[]): string | undefined {
  const at = marker ? events.findIndex((e) => e.event_id === marker) : -1
  if (at < 0) return undefined
  const shown = new Set<string>()
  for (const item of items) if (item.kind === 'group') for (const m of item.messages) if (m.status === 'remote' && m.eventId) shown.add(m.eventId)
  for (let i = at + 1; i < events.length; i++) {
    if (events[i].sender !== userId && shown.has(events[i].event_id)) return events[i].event_id
  }
  return undefined
}
