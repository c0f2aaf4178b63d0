import type { JsonObject, MatrixEvent } from '../api/types'
import type { LocalEcho } from './types'

/**
 * Local echo state machine:
 *
 *   pending ──server answered──▶ sent ──event came down sync──▶ (removed)
 *      │  ▲                                      ▲
 *      │  └──────── retry (same txnId) ───┐      │
 *      ▼                                  │      │
 *    failed ──────────────────────────────┘      │
 *   pending/failed ──event with unsigned.transaction_id came down sync──┘
 *
 * Once the real event is in the room timeline the echo is dropped, so a
 * message is never shown twice.
 */

let txnCounter = 0

/** A transaction id unique for this device's lifetime (the server dedupes on it). */
export function newTxnId(now: number = Date.now()): string {
  txnCounter = (txnCounter + 1) % 1_000_000
  const rand = Math.floor(Math.random() * 0x100000).toString(36)
  return `web${now.toString(36)}.${txnCounter}.${rand}`
}

export function createEcho(roomId: string, txnId: string, type: string, content: JsonObject, now: number): LocalEcho {
  return { txnId, roomId, type, content, status: 'pending', createdTs: now, attempts: 1 }
}

function update(echoes: LocalEcho[], txnId: string, fn: (e: LocalEcho) => LocalEcho | null): LocalEcho[] {
  const i = echoes.findIndex((e) => e.txnId === txnId)
  if (i < 0) return echoes
  const next = fn(echoes[i])
  if (next === echoes[i]) return echoes
  const copy = echoes.slice()
  if (next === null) copy.splice(i, 1)
  else copy[i] = next
  return copy
}

/** The send request answered with an event id. Unknown txn ids (already seen via sync) are ignored. */
export function markEchoSent(echoes: LocalEcho[], txnId: string, eventId: string): LocalEcho[] {
  return update(echoes, txnId, (e) => ({ ...e, status: 'sent', eventId, error: undefined }))
}

/** The send request failed. Only a pending echo can fail (a sent one stays sent). */
export function markEchoFailed(echoes: LocalEcho[], txnId: string, error: string): LocalEcho[] {
  return update(echoes, txnId, (e) => (e.status === 'pending' ? { ...e, status: 'failed', error } : e))
}

/** Retry a failed echo: back to pending, keeping the same transaction id. */
export function retryEcho(echoes: LocalEcho[], txnId: string): LocalEcho[] {
  return update(echoes, txnId, (e) =>
    e.status === 'failed' ? { ...e, status: 'pending', error: undefined, attempts: e.attempts + 1 } : e,
  )
}

export function discardEcho(echoes: LocalEcho[], txnId: string): LocalEcho[] {
  return update(echoes, txnId, () => null)
}

/** Whether a timeline event is the remote echo of a local one. */
export function isRemoteEchoOf(event: MatrixEvent, echo: LocalEcho): boolean {
  if (echo.eventId !== undefined && event.event_id === echo.eventId) return true
  return event.unsigned?.transaction_id === echo.txnId && (event.room_id === undefined || event.room_id === echo.roomId)
}

/** Drops the echoes of `roomId` whose real event is among `events`. */
export function reconcileEchoes(echoes: LocalEcho[], roomId: string, events: readonly MatrixEvent[]): LocalEcho[] {
  if (echoes.length === 0 || events.length === 0) return echoes
  const ids = new Set<string>()
  const txns = new Set<string>()
  for (const ev of events) {
    ids.add(ev.event_id)
    const t = ev.unsigned?.transaction_id
    if (typeof t === 'string') txns.add(t)
  }
  const kept = echoes.filter(
    (e) => e.roomId !== roomId || !((e.eventId !== undefined && ids.has(e.eventId)) || txns.has(e.txnId)),
  )
  return kept.length === echoes.length ? echoes : kept
}

/** Echoes to show at the end of a room's timeline, oldest first. */
export function roomEchoes(echoes: readonly LocalEcho[], roomId: string): LocalEcho[] {
  return echoes.filter((e) => e.roomId === roomId)
}
