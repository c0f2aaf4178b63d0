import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MatrixClient, type FetchLike } from '../api/client'
import type { NotificationPayload } from '../state/notify'
import { fakeSockets } from '../test/fakeSocket'
import { isRoomMuted } from '../state/pushRules'
import { MessageTooLargeError } from '../state/limits'
import { groupTimeline } from '../state/grouping'
import { buildRoomList } from '../state/rooms'
import { ChatController } from './controller'

const ROOM = '!r:hs.test'
const ME = '@me:hs.test'
const flush = () => vi.advanceTimersByTimeAsync(0)

interface Call {
  method: string
  url: string
  body: unknown
}

/** A fetch that records calls; `respond` decides the answer (default: network failure). */
function fakeFetch(respond: (call: Call) => { status: number; body: unknown } | 'network-error' = () => 'network-error') {
  const calls: Call[] = []
  const fetch: FetchLike = async (url, init) => {
    const call = { method: init?.method ?? 'GET', url, body: init?.body ? JSON.parse(String(init.body)) : undefined }
    calls.push(call)
    const r = respond(call)
    if (r === 'network-error') throw new TypeError('Failed to fetch')
    return new Response(JSON.stringify(r.body), { status: r.status })
  }
  return { fetch, calls }
}

function initialFrame() {
  return {
    type: 'sync',
    seq: 1,
    since: null,
    next_batch: 'b1',
    data: {
      next_batch: 'b1',
      rooms: {
        join: {
          [ROOM]: {
            state: { events: [] },
            timeline: {
              events: [
                { event_id: '$old', type: 'm.room.message', sender: '@alice:hs.test', origin_server_ts: 10, content: { body: 'hi' } },
              ],
              limited: false,
              prev_batch: 'p0',
            },
            unread_notifications: { notification_count: 1, highlight_count: 0 },
          },
        },
      },
    },
  }
}

function setup(respond?: Parameters<typeof fakeFetch>[0], notifier?: { attended: () => boolean; shown: NotificationPayload[] }) {
  const sockets = fakeSockets()
  const http = fakeFetch(respond)
  const ended: string[] = []
  const controller = new ChatController({
    client: new MatrixClient({ fetch: http.fetch, accessToken: 'tok' }),
    userId: ME,
    onSessionEnded: (r) => ended.push(r),
    socketFactory: sockets.factory,
    streamUrl: 'ws://hs.test/ws',
    notifier: notifier && { attended: notifier.attended, show: (p) => notifier.shown.push(p) },
  })
  return { ...sockets, http, controller, ended }
}

async function connected(t: ReturnType<typeof setup>) {
  t.controller.start()
  await flush()
  t.last().accept()
  t.last().receive(initialFrame())
  await flush()
}

describe('ChatController over the stream', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends over the socket and retries a send lost with the connection, with the same txn id, once reconnected', async () => {
    const t = setup()
    await connected(t)
    expect(t.controller.activity.getState().transport).toBe('ws')

    const txnId = t.controller.sendText(ROOM, 'hello')
    await flush()
    const [first] = t.sockets[0].sentOfType('send')
    expect(first).toMatchObject({ type: 'send', room_id: ROOM, txn_id: txnId, event_type: 'm.room.message', content: { body: 'hello' } })

    // The connection drops before the answer: the message stays pending (not failed).
    t.sockets[0].drop(1006)
    await flush()
    expect(t.controller.store.getState().echoes.map((e) => e.status)).toEqual(['pending'])
    expect(t.http.calls.filter((c) => c.method === 'PUT')).toHaveLength(0)

    // Reconnected (from the last applied token): the send goes again, same txn id.
    expect(t.sockets).toHaveLength(2)
    t.sockets[1].accept()
    await flush()
    expect(t.sockets[1].sent[0]).toMatchObject({ type: 'start', since: 'b1' })
    const [again] = t.sockets[1].sentOfType('send')
    expect(again).toMatchObject({ txn_id: txnId, content: { body: 'hello' } })
    expect(again.req_id).toBeDefined()

    t.sockets[1].receive({ type: 'send_result', req_id: again.req_id, event_id: '$new', txn_id: txnId })
    await flush()
    expect(t.controller.store.getState().echoes.map((e) => e.status)).toEqual(['sent'])
    t.sockets[1].receive({
      type: 'sync',
      seq: 1,
      since: 'b1',
      next_batch: 'b2',
      data: {
        next_batch: 'b2',
        rooms: {
          join: {
            [ROOM]: {
              timeline: {
                events: [
                  { event_id: '$new', type: 'm.room.message', sender: ME, origin_server_ts: 20, content: { body: 'hello' }, unsigned: { transaction_id: txnId } },
                ],
              },
            },
          },
        },
      },
    })
    await flush()
    const state = t.controller.store.getState()
    expect(state.echoes).toHaveLength(0)
    expect(state.rooms[ROOM].timeline.map((e) => e.event_id)).toEqual(['$old', '$new'])
    t.controller.stop()
  })

  it('without a socket, sends over HTTP; a network failure keeps it pending and it is retried with the same txn id', async () => {
    let fail = true
    const t = setup((call) => {
      if (call.method === 'PUT' && call.url.includes('/send/')) return fail ? 'network-error' : { status: 200, body: { event_id: '$e' } }
      return 'network-error'
    })
    await connected(t)
    t.sockets[0].drop(1006) // and the socket is gone for now
    const txnId = t.controller.sendText(ROOM, 'over http')
    await flush()
    const puts = () => t.http.calls.filter((c) => c.method === 'PUT')
    expect(puts()).toHaveLength(1)
    expect(puts()[0].url).toContain(`/send/m.room.message/${encodeURIComponent(txnId)}`)
    expect(t.controller.store.getState().echoes[0].status).toBe('pending')
    fail = false
    await vi.advanceTimersByTimeAsync(1000)
    expect(puts()).toHaveLength(2)
    expect(puts()[1].url).toBe(puts()[0].url)
    expect(t.controller.store.getState().echoes[0]).toMatchObject({ status: 'sent', eventId: '$e' })
    t.controller.stop()
  })

  it('refuses a message over the size limit before sending anything, with the reason', async () => {
    const t = setup()
    await connected(t)
    expect(() => t.controller.sendText(ROOM, 'x'.repeat(70_000))).toThrow(MessageTooLargeError)
    expect(t.controller.store.getState().echoes).toHaveLength(0)
    expect(t.last().sentOfType('send')).toHaveLength(0)
    t.controller.stop()
  })

  it('a send refused on the stream fails with the real reason (the error names its req_id) and typing is ended again', async () => {
    const t = setup()
    await connected(t)
    t.controller.composerInput(ROOM, 'big')
    t.controller.sendText(ROOM, 'big')
    await flush()
    const [send] = t.last().sentOfType('send')
    expect(t.last().sentOfType('typing').map((f) => f.typing)).toEqual([true, false])
    t.last().receive({ type: 'error', errcode: 'M_TOO_LARGE', error: 'Frames are limited to 65536 bytes', req_id: send.req_id })
    await flush()
    const [echo] = t.controller.store.getState().echoes
    expect(echo).toMatchObject({ status: 'failed', error: expect.stringMatching(/too large/) })
    expect(echo.error).not.toMatch(/reach the server/)
    // "Stopped typing" is said once more: the one sent with the message may have been lost.
    expect(t.last().sentOfType('typing').map((f) => f.typing)).toEqual([true, false, false])
    t.controller.stop()
  })

  it('a reaction is sent as an m.reaction event, shown on its target at once, never as a message or a preview', async () => {
    const t = setup()
    await connected(t)
    t.controller.react(ROOM, '$old', '👍')
    await flush()
    const [send] = t.last().sentOfType('send')
    expect(send).toMatchObject({
      event_type: 'm.reaction',
      content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$old', key: '👍' } },
    })
    const state = t.controller.store.getState()
    const items = groupTimeline(state.rooms[ROOM].timeline, state.echoes, state.rooms[ROOM].state, ME)
    const messages = items.flatMap((i) => (i.kind === 'group' ? i.messages : []))
    expect(messages.map((m) => m.eventId)).toEqual(['$old'])
    expect(messages[0].reactions).toEqual([{ key: '👍', senders: [ME], mine: expect.any(String) }])
    expect(buildRoomList(state).rooms[0].preview).toBe('alice: hi')
    t.controller.stop()
  })

  it('an edit shows its new text on the original while it is on its way', async () => {
    const t = setup()
    await connected(t)
    t.controller.sendMessage(ROOM, { msgtype: 'm.text', body: '* hey', 'm.new_content': { msgtype: 'm.text', body: 'hey' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$old' } })
    const state = t.controller.store.getState()
    const items = groupTimeline(state.rooms[ROOM].timeline, state.echoes, state.rooms[ROOM].state, ME)
    const messages = items.flatMap((i) => (i.kind === 'group' ? i.messages : []))
    // '$old' is alice's: an edit by someone else is ignored, as the server's other clients would.
    expect(messages).toHaveLength(1)
    expect(messages[0].content.body).toBe('hi')
    t.controller.stop()
  })

  it('sends typing and read receipts over the socket', async () => {
    const t = setup()
    await connected(t)
    t.controller.composerInput(ROOM, 'h')
    t.controller.composerInput(ROOM, 'he')
    expect(t.last().sentOfType('typing')).toEqual([
      expect.objectContaining({ type: 'typing', room_id: ROOM, typing: true, timeout: 30000 }),
    ])
    t.controller.sendText(ROOM, 'he')
    expect(t.last().sentOfType('typing')[1]).toMatchObject({ typing: false })

    t.controller.markRead(ROOM)
    t.controller.markRead(ROOM) // once per event
    expect(t.last().sentOfType('receipt')).toEqual([
      expect.objectContaining({ type: 'receipt', room_id: ROOM, event_id: '$old', receipt_type: 'm.read' }),
    ])
    const room = t.controller.store.getState().rooms[ROOM]
    expect(room.notificationCount).toBe(0)
    expect(room.receipts[ME].eventId).toBe('$old')
    t.controller.stop()
  })

  it('shows a notification for a DM message only while the page is not attended', async () => {
    const notifier = { attended: () => false, shown: [] as NotificationPayload[] }
    const t = setup(undefined, notifier)
    t.controller.start()
    await flush()
    t.last().accept()
    const frame = initialFrame()
    ;(frame.data as Record<string, unknown>).account_data = { events: [{ type: 'm.direct', content: { '@alice:hs.test': [ROOM] } }] }
    t.last().receive(frame)
    await flush()
    expect(notifier.shown).toHaveLength(0) // the first sync is history
    t.last().receive({
      type: 'sync',
      seq: 2,
      since: 'b1',
      next_batch: 'b2',
      data: {
        next_batch: 'b2',
        rooms: {
          join: {
            [ROOM]: {
              timeline: { events: [{ event_id: '$dm', type: 'm.room.message', sender: '@alice:hs.test', origin_server_ts: 30, content: { body: 'psst' } }] },
              unread_notifications: { notification_count: 2, highlight_count: 0 },
            },
          },
        },
      },
    })
    await flush()
    expect(notifier.shown).toEqual([
      expect.objectContaining({ room_id: ROOM, event_id: '$dm', sender: '@alice:hs.test', body: 'psst', unread: 2, prio: 'normal' }),
    ])
    expect(t.controller.activity.getState().chatted).toBe(true)
    t.controller.stop()
  })

  it('reports the room on screen and window focus with focus frames, again after a reconnect', async () => {
    const t = setup()
    t.controller.setFocus(ROOM, true) // before the socket is up
    await connected(t)
    expect(t.sockets[0].sentOfType('focus')).toEqual([expect.objectContaining({ room_id: ROOM, focused: true })])
    t.controller.setFocus(ROOM, true)
    t.controller.setFocus(ROOM, false)
    t.controller.setFocus(null, false)
    expect(t.sockets[0].sentOfType('focus').map((f) => [f.room_id, f.focused])).toEqual([
      [ROOM, true],
      [ROOM, false],
      [null, false],
    ])
    t.sockets[0].drop(1006)
    await flush()
    t.sockets[1].accept()
    await flush()
    expect(t.sockets[1].sentOfType('focus')).toEqual([expect.objectContaining({ room_id: null, focused: false })])
    t.controller.stop()
  })

  it('mutes a room with the documented override rule, unmutes by deleting it; rules come from GET /pushrules/', async () => {
    const rules = { global: { override: [{ rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] }], room: [], underride: [] } }
    const t = setup((call) => {
      if (call.url.endsWith('/pushrules/')) return { status: 200, body: rules }
      if (call.url.includes('/pushrules/global/')) return { status: 200, body: {} }
      return 'network-error'
    })
    await connected(t)
    expect(t.http.calls.some((c) => c.method === 'GET' && c.url === '/_matrix/client/v3/pushrules/')).toBe(true)
    expect(t.controller.store.getState().accountData['m.push_rules']).toEqual(rules)
    const muted = () => isRoomMuted(t.controller.store.getState().accountData['m.push_rules'], ROOM)
    expect(muted()).toBe(false)

    await t.controller.setRoomMuted(ROOM, true)
    const put = t.http.calls.find((c) => c.method === 'PUT')
    expect(put).toEqual({
      method: 'PUT',
      url: `/_matrix/client/v3/pushrules/global/override/${encodeURIComponent(ROOM)}`,
      body: { conditions: [{ kind: 'event_match', key: 'room_id', pattern: ROOM }], actions: [] },
    })
    expect(muted()).toBe(true)

    await t.controller.setRoomMuted(ROOM, false)
    const del = t.http.calls.find((c) => c.method === 'DELETE')
    expect(del?.url).toBe(`/_matrix/client/v3/pushrules/global/override/${encodeURIComponent(ROOM)}`)
    expect(muted()).toBe(false)
    t.controller.stop()
  })
})

describe('ChatController.deleteMessage', () => {
  it('redacts the message with a fresh transaction id each time', async () => {
    const t = setup(() => ({ status: 200, body: { event_id: '$redaction' } }))
    await t.controller.deleteMessage(ROOM, '$old')
    await t.controller.deleteMessage(ROOM, '$old')
    const puts = t.http.calls.filter((c) => c.method === 'PUT')
    expect(puts).toHaveLength(2)
    for (const call of puts) {
      expect(call.url).toMatch(new RegExp(`/rooms/${encodeURIComponent(ROOM)}/redact/${encodeURIComponent('$old')}/[^/]+$`))
    }
    expect(puts[0].url).not.toBe(puts[1].url)
  })

  it('a refusal reaches the caller (the room view shows it)', async () => {
    const t = setup(() => ({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'You may not redact this event' } }))
    await expect(t.controller.deleteMessage(ROOM, '$old')).rejects.toThrow('You may not redact this event')
  })
})

describe('ChatController.revealEvent (a jump to a search result)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const msg = (id: string, ts: number) => ({ event_id: id, type: 'm.room.message', sender: '@alice:hs.test', origin_server_ts: ts, room_id: ROOM, content: { body: id } })

  it('checks the event through /context, then loads older pages until it is in the timeline', async () => {
    const t = setup((call) => {
      if (call.url.includes('/context/')) return { status: 200, body: { event: msg('$target', 5) } }
      if (call.url.includes('from=p0')) return { status: 200, body: { chunk: [msg('$m1', 8)], end: 'p1' } }
      if (call.url.includes('from=p1')) return { status: 200, body: { chunk: [msg('$target', 5)], end: 'p2' } }
      return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } }
    })
    await connected(t)
    const found = t.controller.revealEvent(ROOM, '$target')
    await vi.advanceTimersByTimeAsync(500)
    await expect(found).resolves.toBe(true)
    const pages = t.http.calls.filter((c) => c.url.includes('/messages'))
    expect(pages).toHaveLength(2)
    expect(pages.every((c) => c.url.includes('limit=100'))).toBe(true)
    expect(t.controller.store.getState().rooms[ROOM].timeline.map((e) => e.event_id)).toEqual(['$target', '$m1', '$old'])
    // Already there: no request at all.
    const before = t.http.calls.length
    await expect(t.controller.revealEvent(ROOM, '$m1')).resolves.toBe(true)
    expect(t.http.calls.length).toBe(before)
  })

  it('gives up once history is older than the event (it is not in this room’s timeline)', async () => {
    const t = setup((call) => {
      if (call.url.includes('/context/')) return { status: 200, body: { event: msg('$elsewhere', 9_000_000) } }
      if (call.url.includes('/messages')) return { status: 200, body: { chunk: [msg('$x', 1)], end: 'p9' } }
      return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } }
    })
    await connected(t)
    const found = t.controller.revealEvent(ROOM, '$elsewhere')
    await vi.advanceTimersByTimeAsync(500)
    await expect(found).resolves.toBe(false)
    expect(t.http.calls.filter((c) => c.url.includes('/messages'))).toHaveLength(0)
  })

  it('fails when the server will not show the event', async () => {
    const t = setup(() => ({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Event not found' } }))
    await connected(t)
    const found = t.controller.revealEvent(ROOM, '$hidden')
    found.catch(() => {})
    await vi.advanceTimersByTimeAsync(500)
    await expect(found).rejects.toThrow()
  })
})
