import { describe, expect, it } from 'vitest'
import { appendHits, highlightSegments, parseSearchResponse, searchRequest } from './search'

describe('searchRequest', () => {
  it('asks for the newest first, in one room when given', () => {
    expect(searchRequest('lunch', '!a:x')).toEqual({
      search_categories: { room_events: { search_term: 'lunch', order_by: 'recent', keys: ['content.body'], filter: { rooms: ['!a:x'] } } },
    })
    expect(searchRequest('lunch', null).search_categories).toEqual({
      room_events: { search_term: 'lunch', order_by: 'recent', keys: ['content.body'] },
    })
  })
})

describe('parseSearchResponse', () => {
  it('reads results, highlights, count and next_batch, skipping events without a text body', () => {
    const page = parseSearchResponse({
      search_categories: {
        room_events: {
          count: 3,
          highlights: ['lunch', 7, ''],
          next_batch: 'nb1',
          results: [
            { rank: 1, result: { event_id: '$1', room_id: '!a:x', sender: '@ana:x', origin_server_ts: 5, type: 'm.room.message', content: { body: 'Lunch?' } } },
            { rank: 1, result: { event_id: '$2', room_id: '!a:x', sender: '@ana:x', origin_server_ts: 6, type: 'm.room.message', content: { body: 3 } } },
            { rank: 1 },
          ],
        },
      },
    })
    expect(page).toEqual({
      hits: [{ roomId: '!a:x', eventId: '$1', sender: '@ana:x', ts: 5, body: 'Lunch?' }],
      count: 3,
      highlights: ['lunch'],
      nextBatch: 'nb1',
    })
  })
  it('survives an empty or odd answer', () => {
    expect(parseSearchResponse({})).toEqual({ hits: [], count: undefined, highlights: [], nextBatch: undefined })
    expect(parseSearchResponse(null).hits).toEqual([])
  })
})

describe('highlightSegments', () => {
  it('marks word starts matching a highlight, case-insensitively', () => {
    expect(highlightSegments('Lunch at the lunchroom, not brunch', ['lunch'])).toEqual([
      { text: 'Lunch', hit: true },
      { text: ' at the ', hit: false },
      { text: 'lunch', hit: true },
      { text: 'room, not brunch', hit: false },
    ])
  })
  it('prefers the longest term and treats regex characters literally', () => {
    expect(highlightSegments('a.b a.bc', ['a.b', 'a.bc'])).toEqual([
      { text: 'a.b', hit: true },
      { text: ' ', hit: false },
      { text: 'a.bc', hit: true },
    ])
    expect(highlightSegments('axb', ['a.b'])).toEqual([{ text: 'axb', hit: false }])
  })
  it('keeps markup as plain text (rendered as text, never parsed)', () => {
    const segs = highlightSegments('<img src=x onerror=alert(1)> lunch', ['lunch'])
    expect(segs.map((s) => s.text).join('')).toBe('<img src=x onerror=alert(1)> lunch')
    expect(segs.at(-1)).toEqual({ text: 'lunch', hit: true })
  })
  it('without highlights the text is one plain piece', () => {
    expect(highlightSegments('hello', [])).toEqual([{ text: 'hello', hit: false }])
    expect(highlightSegments('', ['x'])).toEqual([])
  })
  it('matches letters beyond ASCII at word starts', () => {
    expect(highlightSegments('Ärger ärgerlich', ['ärger']).filter((s) => s.hit).map((s) => s.text)).toEqual(['Ärger', 'ärger'])
  })
})

describe('appendHits', () => {
  it('adds a next page without duplicates', () => {
    const h = (id: string) => ({ roomId: '!a', eventId: id, sender: '@a', ts: 1, body: id })
    expect(appendHits([h('1'), h('2')], [h('2'), h('3')]).map((x) => x.eventId)).toEqual(['1', '2', '3'])
  })
})
