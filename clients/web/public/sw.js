/*
 * Service worker of the web client, served from the site root so its scope is "/".
 *
 * It shows chat notifications and opens the right room when one is clicked.
 * Notifications come from:
 *   - the page, which posts {type: "show-notification", payload} while the tab
 *     is hidden or unfocused (see src/app/notifications.ts);
 *   - Web Push (to be added): a `push` handler only has to call
 *     `event.waitUntil(showChatNotification(event.data.json()))`.
 *
 * A payload is {room_id, event_id, sender, sender_display_name?, room_name?,
 * body?, unread, prio} (prio "high" for mentions).
 *
 * Plain JavaScript, no imports: it is copied to dist/ as is.
 */

const APP_TITLE = 'Homeserver'

function roomUrl(roomId) {
  const path = roomId ? '/#/room/' + encodeURIComponent(roomId) : '/'
  return new URL(path, self.location.origin).href
}

function localpart(userId) {
  const m = /^@([^:]+)/.exec(userId || '')
  return m ? m[1] : userId || 'Someone'
}

/** Title and body of a notification for a payload (mirrors src/state/notify.ts). */
function notificationText(payload) {
  const who = payload.sender_display_name || localpart(payload.sender)
  const title = payload.room_name && payload.room_name !== who ? who + ' in ' + payload.room_name : who
  const body = typeof payload.body === 'string' && payload.body ? payload.body : 'New message'
  return { title: title || APP_TITLE, body }
}

/** Shows one chat notification. Messages of a room replace each other (one notification per room). */
function showChatNotification(payload) {
  if (!payload || typeof payload.room_id !== 'string') return Promise.resolve()
  const text = notificationText(payload)
  const unread = typeof payload.unread === 'number' && payload.unread > 1 ? ' (' + payload.unread + ' unread)' : ''
  return self.registration.showNotification(text.title, {
    body: text.body + unread,
    tag: 'room:' + payload.room_id,
    renotify: true,
    icon: '/favicon.svg',
    silent: false,
    requireInteraction: payload.prio === 'high',
    data: { room_id: payload.room_id, event_id: payload.event_id || null },
  })
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
    event.waitUntil(showChatNotification(data.payload))
  }
})

self.addEventListener('notificationclick', (event) => {
  const data = event.notification.data || {}
  event.notification.close()
  event.waitUntil(openRoom(typeof data.room_id === 'string' ? data.room_id : null))
})
