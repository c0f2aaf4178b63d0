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

/** What the service worker answers to a show-notification (null: no answer in time). */
export type WorkerAnswer = { ok: true } | { ok: false; error: string } | null

/** Posts to the worker with a reply port and waits up to `ms` for its answer. */
function askWorker(worker: ServiceWorker, message: object, ms: number): Promise<WorkerAnswer> {
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    const done = (answer: WorkerAnswer) => {
      clearTimeout(timer)
      channel.port1.close()
      resolve(answer)
    }
    const timer = setTimeout(() => done(null), ms)
    channel.port1.onmessage = (e: MessageEvent) => {
      const data = e.data as { ok?: unknown; error?: unknown } | null
      done(data && data.ok === true ? { ok: true } : { ok: false, error: String(data?.error ?? 'unknown error') })
    }
    try {
      worker.postMessage(message, [channel.port2])
    } catch {
      done(null)
    }
  })
}

/**
 * How long to wait for the worker, per attempt. A message to a worker that is
 * starting or being stopped can go unanswered (seen in Chromium under load),
 * so it is sent again; a notification shown twice replaces itself (same tag).
 */
export const WORKER_ATTEMPTS_MS = [2_000, 5_000]

/**
 * Shows the notification through the service worker; false when there is no
 * worker, or it never answered (the page then shows it itself).
 */
export async function showThroughWorker(
  registration: () => Promise<ServiceWorkerRegistration | null>,
  payload: NotificationPayload,
  attemptsMs: readonly number[] = WORKER_ATTEMPTS_MS,
): Promise<boolean> {
  for (const ms of attemptsMs) {
    const worker = (await registration())?.active
    if (!worker) return false
    const answer = await askWorker(worker, { type: 'show-notification', payload }, ms)
    if (answer?.ok) return true
    if (answer) {
      console.warn('Notification not shown:', answer.error)
      return true // the browser refused: showing it from the page would be refused too
    }
  }
  return false
}

/** The notifier used in the browser. `openRoom` is used for plain (non-worker) notifications. */
export function browserNotifier(openRoom: (roomId: string) => void): Notifier {
  return {
    attended: pageAttended,
    show(payload) {
      if (notificationPermission() !== 'granted') return
      void (async () => {
        if (await showThroughWorker(registerServiceWorker, payload)) return
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
