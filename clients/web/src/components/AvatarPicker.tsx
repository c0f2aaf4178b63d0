import { useRef, useState } from 'react'
import { describeError } from '../api/errors'
import { Avatar } from './Avatar'

/**
 * A large avatar with a "Change picture" button (an image file is picked,
 * then `onPick` uploads and sets it). Disabled when `disabled`.
 */
export function AvatarPicker({
  id,
  name,
  mxc,
  label,
  disabled = false,
  onPick,
}: {
  id: string
  name: string
  mxc?: string
  label: string
  disabled?: boolean
  onPick: (file: File) => Promise<void>
}) {
  const input = useRef<HTMLInputElement>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState(false)

  async function pick(file: File) {
    setBusy(true)
    setError(null)
    setDone(false)
    try {
      await onPick(file)
      setDone(true)
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="flex items-center gap-4">
      <Avatar id={id} name={name} size="lg" mxc={mxc} />
      <div className="flex min-w-0 flex-col gap-1">
        <input
          ref={input}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          hidden
          data-testid="avatar-input"
          onChange={(e) => {
            const file = e.target.files?.[0]
            e.target.value = ''
            if (file) void pick(file)
          }}
        />
        {!disabled && (
          <button
            type="button"
            onClick={() => input.current?.click()}
            disabled={busy}
            className="self-start rounded-lg border border-gray-300 px-3 py-1.5 text-sm font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:border-gray-600 dark:text-gray-100 dark:hover:bg-gray-800"
          >
            {busy ? 'Uploading…' : label}
          </button>
        )}
        <p aria-live="polite" className="text-xs text-gray-600 dark:text-gray-400">
          {done && !busy ? 'Picture updated.' : ''}
        </p>
        {error && (
          <p role="alert" className="text-xs text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
      </div>
    </div>
  )
}
