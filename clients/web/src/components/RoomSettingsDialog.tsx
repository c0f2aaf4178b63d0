import { useId, useState, type FormEvent } from 'react'
import { useClientState, useController } from '../app/context'
import { describeError } from '../api/errors'
import { canSetState, roomAvatar } from '../state/avatars'
import { getState, str } from '../state/events'
import { roomDisplayName } from '../state/rooms'
import { AvatarPicker } from './AvatarPicker'
import { Modal } from './Modal'
import { Button, TextField } from './ui'

/**
 * A room's name, topic and picture. Each can be changed only by those whose
 * power level allows that state event; for others the fields are read-only.
 */
export function RoomSettingsDialog({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const controller = useController()
  const state = useClientState()
  const room = state.rooms[roomId]
  const topicId = useId()
  const currentName = str(getState(room?.state ?? {}, 'm.room.name')?.content.name) ?? ''
  const currentTopic = str(getState(room?.state ?? {}, 'm.room.topic')?.content.topic) ?? ''
  const [name, setName] = useState(currentName)
  const [topic, setTopic] = useState(currentTopic)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  if (!room) return null
  const me = state.userId
  const mayName = canSetState(room.state, me, 'm.room.name')
  const mayTopic = canSetState(room.state, me, 'm.room.topic')
  const mayAvatar = canSetState(room.state, me, 'm.room.avatar')
  const display = roomDisplayName(room, me)
  const changed = (mayName && name.trim() !== currentName) || (mayTopic && topic.trim() !== currentTopic)

  async function save(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setSaved(false)
    try {
      if (mayName && name.trim() !== currentName) await controller.setRoomName(roomId, name)
      if (mayTopic && topic.trim() !== currentTopic) await controller.setRoomTopic(roomId, topic)
      setSaved(true)
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Modal title="Room settings" onClose={onClose}>
      <form onSubmit={save} className="flex flex-col gap-4" aria-label={`Settings of ${display}`}>
        <AvatarPicker
          id={roomId}
          name={display}
          mxc={roomAvatar(room.state)}
          label="Change room picture"
          disabled={!mayAvatar}
          onPick={(file) => controller.setRoomAvatar(roomId, file)}
        />
        <TextField
          label="Room name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          readOnly={!mayName}
          maxLength={255}
          autoFocus={mayName}
        />
        <div className="flex flex-col gap-1">
          <label htmlFor={topicId} className="text-sm font-medium text-gray-800 dark:text-gray-200">
            Topic
          </label>
          <textarea
            id={topicId}
            value={topic}
            onChange={(e) => setTopic(e.target.value)}
            readOnly={!mayTopic}
            rows={3}
            maxLength={1000}
            className="resize-y rounded-lg border border-gray-300 bg-white px-3 py-2 text-gray-900 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 dark:border-gray-600 dark:bg-gray-800 dark:text-gray-100"
          />
        </div>
        {!(mayName && mayTopic && mayAvatar) && (
          <p className="text-sm text-gray-700 dark:text-gray-300" data-testid="room-settings-readonly">
            {mayName || mayTopic || mayAvatar
              ? 'Some of these settings need a higher power level than yours.'
              : "Only the room's moderators and admins can change these settings."}
          </p>
        )}
        {error && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
        <p aria-live="polite" className="text-sm text-gray-700 dark:text-gray-300">
          {saved && !changed ? 'Saved.' : ''}
        </p>
        {(mayName || mayTopic) && (
          <div className="flex justify-end gap-2">
            <Button type="submit" disabled={busy || !changed}>
              {busy ? 'Saving…' : 'Save'}
            </Button>
          </div>
        )}
      </form>
    </Modal>
  )
}
