import { useState } from 'react'
import { describeError } from '../api/errors'
import { Modal } from './Modal'
import { Button, ErrorText } from './ui'

/**
 * "Are you sure?" in the app's own dialog (never window.confirm): the
 * confirm button runs `onConfirm`; a failure is shown here and the dialog
 * stays open; Escape or Cancel closes it with nothing done.
 */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string
  message: string
  confirmLabel: string
  onConfirm: () => Promise<void>
  onClose: () => void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function confirm() {
    setBusy(true)
    setError(null)
    try {
      await onConfirm()
      onClose()
    } catch (e) {
      setError(describeError(e))
      setBusy(false)
    }
  }

  return (
    <Modal title={title} onClose={onClose}>
      <p className="text-sm text-gray-700 dark:text-gray-300">{message}</p>
      {error && <ErrorText>{error}</ErrorText>}
      <div className="mt-5 flex justify-end gap-2">
        <Button variant="secondary" onClick={onClose} data-autofocus="">
          Cancel
        </Button>
        <Button variant="danger" onClick={confirm} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </Button>
      </div>
    </Modal>
  )
}
