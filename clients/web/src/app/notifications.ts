import { notificationText, type NotificationPayload } from '../state/notify'

/**
 * Browser notifications and the service worker (public/sw.js).
 *
 * The page decides *when* to notify (tab hidden or unfocused, DM or
 * mention) and posts the payload to the service worker, which shows it and,
 * when it is clicked, focuses the tab and posts back `open-room`. Without a
 * service worker the page shows a plain `Notification` itself.
 */

export interface Notifier {
  /** True while the user is looking at the page (visible and focused). */
  attended(): boolean
  show(payload: NotificationPayload): void
}

export type Permission = NotificationPermission | 'unsupported'

export function notificationPermission(): Permission {
  if (typeof Notification === 'undefined') return 'unsupported'
  return Notification.permission
}

export async function requestNotificationPermission(): Promise<Permission> {
  if (typeof Notification === 'undefined') return 'unsupported'
  try {
    return await Notification.requestPermission()
  } catch {
    return Notification.permission
  }
}

let registration: Promise<ServiceWorkerRegistration | null> | null = null

/** Registers /sw.js (scope "/") once; resolves to null where service workers are unavailable. */
export function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (registration) return registration
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator) || !window.isSecureContext) {
    registration = Promise.resolve(null)
    return registration
  }
  registration = navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((e: unknown) => {
    console.warn('Service worker registration failed', e)
    return null
  })
  return registration
}

/** Calls `onOpen(roomId)` when the service worker says a notification was clicked. */
export function listenForOpenRoom(onOpen: (roomId: string) => void): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => {}
  const handler = (e: MessageEvent) => {
    const data = e.data as { type?: unknown; room_id?: unknown } | null
    if (data && data.type === 'open-room' && typeof data.room_id === 'string') onOpen(data.room_id)
  }
  navigator.serviceWorker.addEventListener('message', handler)
  return () => navigator.serviceWorker.removeEventListener('message', handler)
}

/**
 * Answers the service worker's "which room do you show?" (asked before it
 * shows a Web Push, so that a room the user is looking at does not notify):
 * `{room_id, focused}` on the port it sent.
 */
export function answerWhichRoom(currentRoom: () => string | null): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => {}
  const handler = (e: MessageEvent) => {
    const data = e.data as { type?: unknown } | null
    if (!data || data.type !== 'which-room' || !e.ports[0]) return
    e.ports[0].postMessage({ room_id: currentRoom(), focused: pageAttended() })
  }
  navigator.serviceWorker.addEventListener('message', handler)
  return () => navigator.serviceWorker.removeEventListener('message', handler)
}

/** Calls `onChange()` when the service worker says the browser replaced or dropped the push subscription. */
export function listenForSubscriptionChange(onChange: () => void): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => {}
  const handler = (e: MessageEvent) => {
    const data = e.data as { type?: unknown } | null
    if (data && data.type === 'push-subscription-changed') onChange()
  }
  navigator.serviceWorker.addEventListener('message', handler)
  return () => navigator.serviceWorker.removeEventListener('message', handler)
}

export function pageAttended(): boolean {
  if (typeof document === 'undefined') return true
  return document.visibilityState === 'visible' && document.hasFocus()
}

/** The notifier used in the browser. `openRoom` is used for plain (non-worker) notifications. */
export function browserNotifier(openRoom: (roomId: string) => void): Notifier {
  return {
    attended: pageAttended,
    show(payload) {
      if (notificationPermission() !== 'granted') return
      void (async () => {
        const reg = await registerServiceWorker()
        const worker = reg?.active
        if (worker) {
          worker.postMessage({ type: 'show-notification', payload })
          return
        }
        const { title, body } = notificationText(payload)
        const n = new Notification(title, { body, tag: `room:${payload.room_id}`, icon: '/favicon.svg' })
        n.onclick = () => {
          window.focus()
          openRoom(payload.room_id)
          n.close()
        }
      })()
    },
  }
}
