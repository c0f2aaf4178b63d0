/*
 * Service worker of the web client, served from the site root so its scope is "/".
 *
 * It shows chat notifications and opens the right room when one is clicked.
 * Notifications come from:
 *   - Web Push: the homeserver encrypts a payload for this browser's push
 *     subscription (registered as a `webpush` pusher, MSC4174) and the
 *     browser's push service wakes this worker with a `push` event;
 *   - the page, which posts {type: "show-notification", payload} while the tab
 *     is hidden or unfocused and this device gets no Web Push
 *     (see src/app/notifications.ts).
 *
 * A payload is {room_id, event_id, sender, sender_display_name?, room_name?,
 * body?, unread, prio}. `unread` counts unread notifying messages across all
 * rooms (the app badge); `body` is missing when the server sends no content.
 *
 * Plain JavaScript, no imports: it is copied to dist/ as is. The text of a
 * notification mirrors src/state/notify.ts; src/sw.test.ts runs this file.
 */

const APP_TITLE = 'Homeserver'
const ROOM_HASH = '#/room/'

function roomUrl(roomId) {
  const path = roomId ? '/' + ROOM_HASH + encodeURIComponent(roomId) : '/'
  return new URL(path, self.location.origin).href
}

function localpart(userId) {
  const m = /^@([^:]+)/.exec(userId || '')
  return m ? m[1] : userId || 'Someone'
}

function text(v) {
  return typeof v === 'string' && v.trim() ? v.trim() : ''
}

/**
 * Title and body of a notification for a payload: the title is the room
 * (or, in a DM, the sender); the body "Sender: preview" (only the preview
 * when the title already names the sender), "New message" without a preview.
 */
function notificationText(payload) {
  const who = text(payload.sender_display_name) || localpart(payload.sender)
  const room = text(payload.room_name)
  const title = room || who || APP_TITLE
  const preview = text(payload.body)
  let body
  if (title === who) body = preview || 'New message'
  else body = preview ? who + ': ' + preview : 'New message from ' + who
  return { title, body }
}

/** The arguments of showNotification() for a payload, or null when the payload is unusable. */
function notificationFor(payload) {
  if (!payload || typeof payload !== 'object' || typeof payload.room_id !== 'string' || !payload.room_id) return null
  const { title, body } = notificationText(payload)
  return {
    title,
    options: {
      body,
      // One notification per room: a newer message replaces the older one (and alerts again).
      tag: 'room:' + payload.room_id,
      renotify: true,
      icon: '/favicon.svg',
      badge: '/favicon.svg',
      silent: false,
      data: {
        room_id: payload.room_id,
        event_id: typeof payload.event_id === 'string' ? payload.event_id : null,
      },
    },
  }
}

/** Shows one chat notification. Messages of a room replace each other (one notification per room). */
function showChatNotification(payload) {
  const n = notificationFor(payload)
  if (!n) return Promise.resolve()
  return self.registration.showNotification(n.title, n.options)
}

/**
 * The page's show-notification. The answer goes back on the port the page
 * sent: {ok: true} once shown, {ok: false, error} when the browser refused.
 * A page that gets no answer sends it again (see src/app/notifications.ts).
 */
async function showForPage(payload, port) {
  let answer = { ok: true }
  try {
    await showChatNotification(payload)
  } catch (error) {
    answer = { ok: false, error: error && error.message ? String(error.message) : String(error) }
  }
  if (port) port.postMessage(answer)
}

/**
 * Asks a window which room it shows and whether the user is looking at it
 * (the page answers on a MessageChannel, see src/app/notifications.ts).
 * `client.url` can't tell: it stays the URL the document was loaded with.
 * No answer within `ms` counts as "not looking".
 */
function askWindow(client, ms) {
  return new Promise((resolve) => {
    let channel
    try {
      channel = new MessageChannel()
    } catch {
      resolve(null)
      return
    }
    const timer = setTimeout(() => resolve(null), ms)
    channel.port1.onmessage = (e) => {
      clearTimeout(timer)
      resolve(e.data && typeof e.data === 'object' ? e.data : null)
    }
    try {
      client.postMessage({ type: 'which-room' }, [channel.port2])
    } catch {
      clearTimeout(timer)
      resolve(null)
    }
  })
}

/** Whether a window of the app is visible, focused and showing this room. */
async function roomOnScreen(roomId) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const candidates = windows.filter(
    (c) => c.focused === true && c.visibilityState === 'visible' && new URL(c.url).origin === self.location.origin,
  )
  const answers = await Promise.all(candidates.map((c) => askWindow(c, 1000)))
  return answers.some((a) => a !== null && a.room_id === roomId && a.focused === true)
}

/** The app badge follows the server's count of unread notifying messages. */
function updateBadge(payload) {
  const nav = self.navigator
  if (!payload || typeof payload.unread !== 'number' || !nav || typeof nav.setAppBadge !== 'function') {
    return Promise.resolve()
  }
  const set = payload.unread > 0 ? nav.setAppBadge(payload.unread) : nav.clearAppBadge()
  return Promise.resolve(set).catch(() => undefined)
}

function parsePushData(data) {
  if (!data) return null
  try {
    return data.json()
  } catch {
    return null
  }
}

/**
 * A Web Push arrived (the decrypted JSON payload, or null). Skipped when the
 * room is on screen in a focused window (the server already skips pushes for
 * rooms a client reports as focused; this is the second guard). A payload
 * that can't be read still shows something: the subscription promises the
 * browser that every push is visible.
 */
async function handlePush(payload) {
  await updateBadge(payload)
  const n = notificationFor(payload)
  if (!n) {
    await self.registration.showNotification(APP_TITLE, {
      body: 'New message',
      tag: 'push',
      icon: '/favicon.svg',
      data: { room_id: null, event_id: null },
    })
    return 'shown'
  }
  if (await roomOnScreen(payload.room_id)) return 'skipped'
  await self.registration.showNotification(n.title, n.options)
  return 'shown'
}

/** Focuses an open client and tells it to show the room; opens one when there is none. */
async function openRoom(roomId) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const client = windows.find((c) => new URL(c.url).origin === self.location.origin)
  if (client) {
    try {
      await client.focus()
    } catch {
      // Focusing can be refused; the message below still switches the room.
    }
    client.postMessage({ type: 'open-room', room_id: roomId })
    return
  }
  await self.clients.openWindow(roomUrl(roomId))
}

self.addEventListener('install', () => {
  self.skipWaiting()
})

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim())
})

self.addEventListener('message', (event) => {
  const data = event.data
  if (data && data.type === 'show-notification') {
    event.waitUntil(showForPage(data.payload, event.ports && event.ports[0]))
  }
})

self.addEventListener('push', (event) => {
  event.waitUntil(handlePush(parsePushData(event.data)))
})

// The browser replaced or dropped the subscription: open pages check it against the server again.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(
    self.clients
      .matchAll({ type: 'window', includeUncontrolled: true })
      .then((windows) => windows.forEach((c) => c.postMessage({ type: 'push-subscription-changed' }))),
  )
})

self.addEventListener('notificationclick', (event) => {
  const data = event.notification.data || {}
  event.notification.close()
  event.waitUntil(openRoom(typeof data.room_id === 'string' ? data.room_id : null))
})
