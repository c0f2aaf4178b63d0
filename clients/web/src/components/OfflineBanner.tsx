import { useEffect, useState } from 'react'
import { useController, useSyncStatus } from '../app/context'

/** Shown while sync requests fail; counts down to the next automatic retry. */
export function OfflineBanner() {
  const status = useSyncStatus()
  const controller = useController()
  const [now, setNow] = useState(() => Date.now())

  useEffect(() => {
    if (status.state !== 'offline') return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [status])

  useEffect(() => {
    const online = () => controller.retrySyncNow()
    window.addEventListener('online', online)
    return () => window.removeEventListener('online', online)
  }, [controller])

  if (status.state !== 'offline') return <div role="status" aria-live="polite" className="sr-only" />
  const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000))
  return (
    <div
      role="status"
      aria-live="polite"
      className="flex flex-wrap items-center justify-center gap-x-3 gap-y-1 bg-amber-100 px-4 py-2 text-sm text-amber-950 dark:bg-amber-900 dark:text-amber-50"
    >
      <span>
        <strong className="font-semibold">Offline.</strong> Can't reach the server
        {seconds > 0 ? ` — retrying in ${seconds}s.` : ' — retrying…'}
      </span>
      <button
        type="button"
        onClick={() => controller.retrySyncNow()}
        className="rounded-md px-2 py-1 font-medium underline hover:bg-amber-200 focus-visible:outline-2 focus-visible:outline-amber-700 dark:hover:bg-amber-800"
      >
        Retry now
      </button>
    </div>
  )
}
