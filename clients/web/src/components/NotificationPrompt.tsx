import { useState } from 'react'
import { useActivity } from '../app/context'
import { notificationPermission, registerServiceWorker, requestNotificationPermission, type Permission } from '../app/notifications'

const DISMISSED_KEY = 'hs.notifications.dismissed'

function dismissedBefore(): boolean {
  try {
    return globalThis.localStorage?.getItem(DISMISSED_KEY) === '1'
  } catch {
    return false
  }
}

/**
 * A small "Enable notifications" offer in the room list. It appears only
 * once a message has been sent or received in this session (never on page
 * load), while the browser has not been asked yet; "Not now" hides it for good.
 */
export function NotificationPrompt() {
  const { chatted } = useActivity()
  const [permission, setPermission] = useState<Permission>(() => notificationPermission())
  const [dismissed, setDismissed] = useState(dismissedBefore)

  if (!chatted || dismissed || permission !== 'default') return null

  async function enable() {
    void registerServiceWorker()
    setPermission(await requestNotificationPermission())
  }

  function notNow() {
    try {
      globalThis.localStorage?.setItem(DISMISSED_KEY, '1')
    } catch {
      /* ignore */
    }
    setDismissed(true)
  }

  return (
    <section
      aria-label="Notifications"
      className="mx-4 mb-2 flex items-center gap-2 rounded-lg border border-indigo-200 bg-indigo-50 px-2.5 py-1.5 text-xs text-indigo-950 dark:border-indigo-900 dark:bg-indigo-950 dark:text-indigo-100"
    >
      <p className="min-w-0 flex-1 leading-tight">Notify me of DMs and mentions</p>
      <button
        type="button"
        onClick={enable}
        aria-label="Enable notifications"
        className="shrink-0 rounded-md bg-indigo-600 px-2 py-0.5 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:bg-indigo-500"
      >
        Enable
      </button>
      <button
        type="button"
        onClick={notNow}
        className="shrink-0 rounded-md px-1.5 py-0.5 font-medium text-indigo-900 underline hover:bg-indigo-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-100 dark:hover:bg-indigo-900"
      >
        Not now
      </button>
    </section>
  )
}
