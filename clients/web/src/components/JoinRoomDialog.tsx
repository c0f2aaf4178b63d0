import { useEffect, useState, type FormEvent } from 'react'
import { useClientState, useController } from '../app/context'
import { describeError, isMatrixError } from '../api/errors'
import type { PublicRoom } from '../api/types'
import { Modal } from './Modal'
import { Button, ErrorText, Spinner, TextField } from './ui'

export function JoinRoomDialog({ onClose, onJoined }: { onClose: () => void; onJoined: (roomId: string) => void }) {
  const controller = useController()
  const state = useClientState()
  const [target, setTarget] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [directory, setDirectory] = useState<PublicRoom[] | null>(null)
  const [directoryError, setDirectoryError] = useState<string | null>(null)

  useEffect(() => {
    let cancelled = false
    controller
      .publicRooms()
      .then((rooms) => !cancelled && setDirectory(rooms))
      .catch((e: unknown) => !cancelled && setDirectoryError(describeError(e)))
    return () => {
      cancelled = true
    }
  }, [controller])

  async function join(idOrAlias: string) {
    setBusy(idOrAlias)
    setError(null)
    try {
      onJoined(await controller.joinRoom(idOrAlias))
    } catch (e) {
      setError(isMatrixError(e, 'M_NOT_FOUND') ? `No room found for ${idOrAlias}.` : describeError(e))
      setBusy(null)
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault()
    let t = target.trim()
    if (!t) {
      setError('Enter a room address like #room:server.')
      return
    }
    if (!t.startsWith('#') && !t.startsWith('!')) t = `#${t}`
    void join(t)
  }

  return (
    <Modal title="Join a room" onClose={onClose}>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <TextField
          label="Room address or ID"
          placeholder="#room:server"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          data-autofocus=""
        />
        <ErrorText>{error}</ErrorText>
        <div className="flex justify-end">
          <Button type="submit" disabled={busy !== null}>
            {busy === target.trim() ? 'Joining…' : 'Join'}
          </Button>
        </div>
      </form>
      <h3 className="mt-5 mb-2 text-sm font-semibold text-gray-800 dark:text-gray-200">Public rooms</h3>
      {directory === null && !directoryError && <Spinner label="Loading directory…" />}
      {directoryError && <p className="text-sm text-red-700 dark:text-red-300">{directoryError}</p>}
      {directory && directory.length === 0 && (
        <p className="text-sm text-gray-600 dark:text-gray-400">No public rooms on this server yet.</p>
      )}
      {directory && directory.length > 0 && (
        <ul className="flex max-h-72 flex-col divide-y divide-gray-200 overflow-y-auto dark:divide-gray-800">
          {directory.map((r) => {
            const name = r.name || r.canonical_alias || r.room_id
            const joined = r.room_id in state.rooms
            return (
              <li key={r.room_id} className="flex items-center gap-3 py-2">
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium">{name}</p>
                  <p className="truncate text-xs text-gray-600 dark:text-gray-400">
                    {r.num_joined_members} member{r.num_joined_members === 1 ? '' : 's'}
                    {r.topic ? ` · ${r.topic}` : ''}
                  </p>
                </div>
                {joined ? (
                  <Button variant="secondary" onClick={() => onJoined(r.room_id)} aria-label={`Open ${name}`}>
                    Open
                  </Button>
                ) : (
                  <Button
                    variant="secondary"
                    disabled={busy !== null}
                    onClick={() => join(r.room_id)}
                    aria-label={`Join ${name}`}
                  >
                    {busy === r.room_id ? 'Joining…' : 'Join'}
                  </Button>
                )}
              </li>
            )
          })}
        </ul>
      )}
    </Modal>
  )
}
