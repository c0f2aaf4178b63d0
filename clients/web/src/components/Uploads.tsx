import { formatBytes } from '../state/media'
import type { Upload } from './useUploads'

const LINK_BUTTON =
  'shrink-0 rounded px-1.5 py-0.5 text-sm underline hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-gray-800'

/**
 * The uploads under way (progress bar and Cancel) and the failed or
 * refused ones (why, Retry when trying again can help, and Dismiss).
 */
export function UploadTray({
  uploads,
  onCancel,
  onRetry,
  onDismiss,
}: {
  uploads: Upload[]
  onCancel: (id: number) => void
  onRetry: (id: number) => void
  onDismiss: (id: number) => void
}) {
  if (uploads.length === 0) return null
  return (
    <ul aria-label="Uploads" className="flex flex-col gap-1 border-t border-gray-200 px-3 py-2 dark:border-gray-800">
      {uploads.map((u) => (
        <li key={u.id} data-testid="upload" className="flex items-center gap-3 text-sm text-gray-800 dark:text-gray-200">
          <div className="min-w-0 flex-1">
            <p className="truncate">
              <span className="font-medium">{u.name}</span>{' '}
              <span className="text-xs text-gray-600 dark:text-gray-400">{formatBytes(u.total)}</span>
            </p>
            {u.error ? (
              <p role="alert" data-testid="upload-error" className="text-xs text-red-700 dark:text-red-300">
                {u.error}
              </p>
            ) : (
              <progress
                className="h-1.5 w-full accent-indigo-600"
                max={u.total || 1}
                value={u.loaded}
                aria-label={`Uploading ${u.name}`}
              />
            )}
          </div>
          {u.error ? (
            <>
              {u.retryable && (
                <button
                  type="button"
                  onClick={() => onRetry(u.id)}
                  className="shrink-0 rounded-md bg-indigo-600 px-2 py-0.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:bg-indigo-500"
                  aria-label={`Retry upload of ${u.name}`}
                >
                  Retry
                </button>
              )}
              <button type="button" onClick={() => onDismiss(u.id)} className={LINK_BUTTON} aria-label={`Dismiss ${u.name}`}>
                Dismiss
              </button>
            </>
          ) : (
            <button type="button" onClick={() => onCancel(u.id)} className={LINK_BUTTON} aria-label={`Cancel upload of ${u.name}`}>
              Cancel
            </button>
          )}
        </li>
      ))}
    </ul>
  )
}
