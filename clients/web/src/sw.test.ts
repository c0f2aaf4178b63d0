import { describe, expect, it, vi } from 'vitest'
// The service worker exactly as it is shipped (public/ is copied to dist/ as is).
import swSource from '../public/sw.js?raw'

interface Shown {
  title: string
  options: { body: string; tag: string; renotify?: boolean; data: { room_id: string | null; event_id: string | null } }
}

interface FakeWindow {
  url: string
  focused: boolean
  visibilityState: 'visible' | 'hidden'
  focus?: () => Promise<void>
  postMessage?: (m: unknown, transfer?: MessagePort[]) => void
}

/** A window whose page answers "which room?" as src/app/notifications.ts does (or never, with `answer: null`). */
function pageWindow(answer: { room_id: string | null; focused: boolean } | null, over: Partial<FakeWindow> = {}): FakeWindow {
  return {
    url: 'https://chat.example/?code=abc', // client.url stays the URL the page was loaded with
    focused: true,
    visibilityState: 'visible',
    postMessage: (m, transfer) => {
      if ((m as { type?: string }).type === 'which-room' && answer && transfer?.[0]) transfer[0].postMessage(answer)
    },
    ...over,
  }
}

/** Runs public/sw.js against a fake service worker global. */
function loadWorker(windows: FakeWindow[] = [], opts: { refuse?: string } = {}) {
  const listeners = new Map<string, ((e: unknown) => void)[]>()
  const shown: Shown[] = []
  const opened: string[] = []
  const badge: (number | null)[] = []
  const self = {
    location: new URL('https://chat.example/sw.js'),
    addEventListener: (type: string, fn: (e: unknown) => void) => listeners.set(type, [...(listeners.get(type) ?? []), fn]),
    skipWaiting: () => Promise.resolve(),
    registration: {
      showNotification: async (title: string, options: Shown['options']) => {
        if (opts.refuse) throw new TypeError(opts.refuse)
        shown.push({ title, options })
      },
    },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url: string) => void opened.push(url),
      claim: async () => undefined,
    },
    navigator: {
      setAppBadge: async (n: number) => void badge.push(n),
      clearAppBadge: async () => void badge.push(null),
    },
  }
  new Function('self', swSource)(self)

  async function dispatch(type: string, init: object): Promise<void> {
    const pending: Promise<unknown>[] = []
    const event = { ...init, waitUntil: (p: Promise<unknown>) => void pending.push(p) }
    for (const fn of listeners.get(type) ?? []) fn(event)
    await Promise.all(pending)
  }

  const push = (payload: unknown) =>
    dispatch('push', {
      data: {
        json: () => (typeof payload === 'string' ? JSON.parse(payload) : payload),
      },
    })
  return { shown, opened, badge, dispatch, push }
}

const DM = '!dm:chat.example'
const TEAM = '!team:chat.example'
const dmPayload = {
  room_id: DM,
  event_id: '$e1',
  sender: '@ben:chat.example',
  sender_display_name: 'Ben',
  body: 'Are you there?',
  unread: 3,
  prio: 'high',
}

describe('service worker push handler', () => {
  it('shows a DM: title the sender, body the preview, one notification per room', async () => {
    const sw = loadWorker()
    await sw.push(dmPayload)
    expect(sw.shown).toHaveLength(1)
    expect(sw.shown[0].title).toBe('Ben')
    expect(sw.shown[0].options).toMatchObject({
      body: 'Are you there?',
      tag: `room:${DM}`,
      renotify: true,
      data: { room_id: DM, event_id: '$e1' },
    })
    expect(sw.badge).toEqual([3])
  })

  it('in a named room: title the room, body "Sender: preview"', async () => {
    const sw = loadWorker()
    await sw.push({ ...dmPayload, room_id: TEAM, room_name: 'Team', prio: 'low' })
    expect(sw.shown[0].title).toBe('Team')
    expect(sw.shown[0].options.body).toBe('Ben: Are you there?')
    expect(sw.shown[0].options.tag).toBe(`room:${TEAM}`)
  })

  it('without content (push_include_content: false): "New message"', async () => {
    const sw = loadWorker()
    const { body: _body, sender_display_name: _name, ...bare } = dmPayload
    await sw.push(bare)
    expect(sw.shown[0]).toMatchObject({ title: 'ben', options: { body: 'New message' } })
    await sw.push({ ...bare, room_id: TEAM, room_name: 'Team' })
    expect(sw.shown[1]).toMatchObject({ title: 'Team', options: { body: 'New message from ben' } })
  })

  it('skips a room that a focused, visible window says it shows', async () => {
    const sw = loadWorker([pageWindow({ room_id: DM, focused: true })])
    await sw.push(dmPayload)
    expect(sw.shown).toEqual([])
    // Another room still notifies.
    await sw.push({ ...dmPayload, room_id: TEAM, room_name: 'Team' })
    expect(sw.shown.map((n) => n.title)).toEqual(['Team'])
  })

  it('shows it when the window with the room is unfocused, hidden, elsewhere or silent', async () => {
    for (const w of [
      pageWindow({ room_id: DM, focused: false }),
      pageWindow({ room_id: DM, focused: true }, { focused: false }),
      pageWindow({ room_id: DM, focused: true }, { visibilityState: 'hidden' }),
      pageWindow({ room_id: null, focused: true }),
      pageWindow({ room_id: DM, focused: true }, { url: 'https://elsewhere.example/' }),
      pageWindow(null),
    ]) {
      const sw = loadWorker([w])
      await sw.push(dmPayload)
      expect(sw.shown).toHaveLength(1)
    }
  })

  it('an unreadable push still shows something (userVisibleOnly)', async () => {
    const sw = loadWorker()
    await sw.dispatch('push', { data: { json: () => JSON.parse('not json') } })
    await sw.dispatch('push', { data: null })
    await sw.push({ hello: 'world' })
    expect(sw.shown.map((n) => [n.title, n.options.body])).toEqual([
      ['Homeserver', 'New message'],
      ['Homeserver', 'New message'],
      ['Homeserver', 'New message'],
    ])
  })

  it('the page path (show-notification) uses the same text', async () => {
    const sw = loadWorker()
    await sw.dispatch('message', { data: { type: 'show-notification', payload: { ...dmPayload, room_id: TEAM, room_name: 'Team' } } })
    expect(sw.shown[0]).toMatchObject({ title: 'Team', options: { body: 'Ben: Are you there?', tag: `room:${TEAM}` } })
  })

  it('answers the page on its port: shown, or why the browser refused', async () => {
    const shownPort = { postMessage: vi.fn() }
    const sw = loadWorker()
    await sw.dispatch('message', { data: { type: 'show-notification', payload: dmPayload }, ports: [shownPort] })
    expect(sw.shown).toHaveLength(1)
    expect(shownPort.postMessage).toHaveBeenCalledWith({ ok: true })

    const refused = 'No notification permission has been granted for this origin.'
    const refusedPort = { postMessage: vi.fn() }
    const denied = loadWorker([], { refuse: refused })
    await denied.dispatch('message', { data: { type: 'show-notification', payload: dmPayload }, ports: [refusedPort] })
    expect(denied.shown).toEqual([])
    expect(refusedPort.postMessage).toHaveBeenCalledWith({ ok: false, error: refused })
  })

  it('a click opens the room: focuses an open window, or opens one', async () => {
    const focus = vi.fn(async () => undefined)
    const postMessage = vi.fn()
    const open = loadWorker([{ url: 'https://chat.example/', focused: false, visibilityState: 'hidden', focus, postMessage }])
    const close = vi.fn()
    await open.dispatch('notificationclick', { notification: { data: { room_id: DM }, close } })
    expect(close).toHaveBeenCalled()
    expect(focus).toHaveBeenCalled()
    expect(postMessage).toHaveBeenCalledWith({ type: 'open-room', room_id: DM })

    const none = loadWorker([])
    await none.dispatch('notificationclick', { notification: { data: { room_id: DM }, close } })
    expect(none.opened).toEqual([`https://chat.example/#/room/${encodeURIComponent(DM)}`])
  })

  it('tells open pages when the browser changes the subscription', async () => {
    const postMessage = vi.fn()
    const sw = loadWorker([{ url: 'https://chat.example/', focused: false, visibilityState: 'hidden', postMessage }])
    await sw.dispatch('pushsubscriptionchange', {})
    expect(postMessage).toHaveBeenCalledWith({ type: 'push-subscription-changed' })
  })
})
