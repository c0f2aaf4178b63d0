import { useId, useState, type FormEvent } from 'react'
import { useController } from '../app/context'
import { describeError, isMatrixError } from '../api/errors'
import { Modal } from './Modal'
import { Button, ErrorText, TextField } from './ui'

export function CreateRoomDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (roomId: string) => void }) {
  const controller = useController()
  const [name, setName] = useState('')
  const [topic, setTopic] = useState('')
  const [isPublic, setIsPublic] = useState(false)
  const [alias, setAlias] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const groupId = useId()

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (!name.trim()) {
      setError('Please give the room a name.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      const roomId = await controller.createRoom({ name, topic, isPublic, alias: isPublic ? alias : undefined })
      onCreated(roomId)
    } catch (err) {
      setError(
isMatrixError(err, 'M_ROOM_IN_USE') ? 'That address is already taken.' : describeError(err),
      )
      setBusy(false)
    }
  }

  return (
    <Modal title="Create a room" onClose={onClose}>
      <form onSubmit={submit} className="flex flex-col gap-4">
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        <TextField label="Topic (optional)" value={topic} onChange={(e) => setTopic(e.target.value)} />
        <fieldset className="flex flex-col gap-2" aria-describedby={`${groupId}-desc`}>
          <legend className="mb-1 text-sm font-medium text-gray-800 dark:text-gray-200">Who can join</legend>
          <label className="flex items-start gap-2 text-sm">
            <input
              type="radio"
              name="visibility"
              checked={!isPublic}
              onChange={() => setIsPublic(false)}
              className="mt-1 accent-indigo-600"
            />
            <span>
              <span className="font-medium">Private</span>
              <span className="block text-gray-600 dark:text-gray-400">Only people you invite</span>
            </span>
          </label>
          <label className="flex items-start gap-2 text-sm">
            <input
              type="radio"
              name="visibility"
              checked={isPublic}
              onChange={() => setIsPublic(true)}
              className="mt-1 accent-indigo-600"
            />
            <span>
              <span className="font-medium">Public</span>
              <span className="block text-gray-600 dark:text-gray-400">Anyone can find it in the directory and join</span>
            </span>
          </label>
          <span id={`${groupId}-desc`} className="sr-only">
            Choose whether the room is private or public
          </span>
        </fieldset>
        {isPublic && (
          <TextField
            label="Address (optional)"
            value={alias}
            onChange={(e) => setAlias(e.target.value.replace(/[\s:#]/g, ''))}
            hint="People can join with #address:server"
            autoCapitalize="none"
            spellCheck={false}
          />
        )}
        <ErrorText>{error}</ErrorText>
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create room'}
          </Button>
        </div>
      </form>
    </Modal>
  )
}
