import type { JsonObject, MatrixEvent } from '../api/types'

/** One result of a message search, as the panel shows it. */
export interface SearchHit {
  roomId: string
  eventId: string
  sender: string
  ts: number
  body: string
}

export interface SearchPage {
  hits: SearchHit[]
  count?: number
  highlights: string[]
  nextBatch?: string
}

/** The body of POST /search: newest first, in one room or in all of mine. */
export function searchRequest(term: string, roomId: string | null): JsonObject {
  const criteria: JsonObject = { search_term: term, order_by: 'recent', keys: ['content.body'] }
  if (roomId) criteria.filter = { rooms: [roomId] }
  return { search_categories: { room_events: criteria } }
}

/** The results of a /search answer (room_events), skipping what is not a message with a body. */
export function parseSearchResponse(response: unknown): SearchPage {
  const events = (response as { search_categories?: { room_events?: Record<string, unknown> } })?.search_categories?.room_events ?? {}
  const results = Array.isArray(events.results) ? events.results : []
  const hits: SearchHit[] = []
  for (const r of results) {
    const ev = (r as { result?: MatrixEvent })?.result
    if (!ev || typeof ev.event_id !== 'string' || typeof ev.room_id !== 'string') continue
    const body = ev.content?.body
    if (typeof body !== 'string') continue
    hits.push({ roomId: ev.room_id, eventId: ev.event_id, sender: ev.sender, ts: ev.origin_server_ts, body })
  }
  const highlights = Array.isArray(events.highlights) ? events.highlights.filter((h): h is string => typeof h === 'string' && h !== '') : []
  return {
    hits,
    count: typeof events.count === 'number' ? events.count : undefined,
    highlights,
    nextBatch: typeof events.next_batch === 'string' ? events.next_batch : undefined,
  }
}

export interface Segment {
  text: string
  hit: boolean
}

/**
 * `text` cut into plain and matched pieces: a piece matches when it is a
 * word that starts with one of `highlights` (the server matches word
 * starts), case-insensitively. Rendered as text, never as HTML.
 */
export function highlightSegments(text: string, highlights: string[]): Segment[] {
  const terms = [...new Set(highlights.map((h) => h.toLowerCase()))].filter((h) => h.length > 0).sort((a, b) => b.length - a.length)
  if (terms.length === 0) return text ? [{ text, hit: false }] : []
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  // A term at the start of a word (not after a letter or digit).
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join('|')})`, 'giu')
  const out: Segment[] = []
  let last = 0
  for (const m of text.matchAll(pattern)) {
    const start = m.index ?? 0
    if (m[0].length === 0) continue
    if (start > last) out.push({ text: text.slice(last, start), hit: false })
    out.push({ text: m[0], hit: true })
    last = start + m[0].length
  }
  if (last < text.length) out.push({ text: text.slice(last), hit: false })
  return out
}

/** The results of two pages together, without an event twice. */
export function appendHits(existing: SearchHit[], more: SearchHit[]): SearchHit[] {
  const seen = new Set(existing.map((h) => h.eventId))
  return [...existing, ...more.filter((h) => !seen.has(h.eventId))]
}
