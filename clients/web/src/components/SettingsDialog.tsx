import { useEffect, useId, useMemo, useState, useSyncExternalStore, type FormEvent } from 'react'
import { useClientState, useController } from '../app/context'
import { describeError } from '../api/errors'
import { accountActionUrl } from '../auth/metadata'
import { PUSH_MESSAGES, type PushState } from '../push/webPush'
import type { PushStatus } from '../push/reconcile'
import { mutedRoomIds } from '../state/pushRules'
import { roomDisplayName } from '../state/rooms'
import { BellIcon } from './icons'
import { Modal } from './Modal'
import { AvatarPicker } from './AvatarPicker'
import { Button, TextField } from './ui'

/**
 * Settings: Web Push on this device, the rooms that are muted, and (for an
 * OAuth session) the server's account page: sessions, and closing the account.
 */
export function SettingsDialog({ onClose, accountUri }: { onClose: () => void; accountUri?: string }) {
  return (
    <Modal title="Settings" onClose={onClose}>
      <div className="flex flex-col gap-6">
        <ProfileSettings />
        <PushSettings />
        <MutedRooms />
        {accountUri && <AccountLinks accountUri={accountUri} />}
      </div>
    </Modal>
  )
}

const LINK =
  'rounded-md text-sm font-medium underline underline-offset-2 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500'

/** The account is managed on the server's own pages (a new tab), as OAuth 2.0 clients must. */
function AccountLinks({ accountUri }: { accountUri: string }) {
  const id = useId()
  return (
    <section aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`} className="mb-2 text-sm font-semibold text-gray-900 dark:text-gray-100">
        Account
      </h3>
      <ul className="flex flex-col gap-2">
        <li>
          <a
            href={accountActionUrl(accountUri, 'org.matrix.devices_list')}
            target="_blank"
            rel="noopener noreferrer"
            className={`${LINK} text-indigo-700 dark:text-indigo-300`}
          >
            Signed-in devices
          </a>
        </li>
        <li>
          <a
            href={accountActionUrl(accountUri, 'org.matrix.account_deactivate')}
            target="_blank"
            rel="noopener noreferrer"
            className={`${LINK} text-red-700 dark:text-red-300`}
          >
            Deactivate account…
          </a>
        </li>
      </ul>
    </section>
  )
}

/** My display name and picture (the server copies them into every room I am in). */
function ProfileSettings() {
  const controller = useController()
  const id = useId()
  const [profile, setProfile] = useState<{ displayname?: string; avatar_url?: string } | null>(null)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)

  useEffect(() => {
    let live = true
    controller.client.getProfile(controller.userId).then(
      (p) => {
        if (!live) return
        setProfile(p)
        setName(p.displayname ?? '')
      },
      () => live && setProfile({}),
    )
    return () => {
      live = false
    }
  }, [controller])

  async function save(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setSaved(false)
    try {
      await controller.setDisplayName(name)
      setProfile((p) => ({ ...p, displayname: name.trim() }))
      setSaved(true)
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  const shown = profile?.displayname || controller.userId
  return (
    <section aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`} className="mb-2 text-sm font-semibold text-gray-900 dark:text-gray-100">
        Profile
      </h3>
      <div className="flex flex-col gap-3">
        <AvatarPicker
          id={controller.userId}
          name={shown}
          mxc={profile?.avatar_url}
          label="Change picture"
          onPick={async (file) => {
            await controller.setAvatar(file)
            const p = await controller.client.getProfile(controller.userId)
            setProfile(p)
          }}
        />
        <form onSubmit={save} className="flex items-end gap-2">
          <TextField
            label="Display name"
            className="min-w-0 flex-1"
            value={name}
            maxLength={255}
            disabled={profile === null}
            onChange={(e) => {
              setName(e.target.value)
              setSaved(false)
            }}
          />
          <Button type="submit" disabled={busy || profile === null || name.trim() === (profile.displayname ?? '')}>
            {busy ? 'Saving…' : 'Save'}
          </Button>
        </form>
        <p aria-live="polite" className="text-xs text-gray-600 dark:text-gray-400">
          {saved ? 'Display name saved.' : ''}
        </p>
        {error && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
      </div>
    </section>
  )
}

const STATUS_TEXT: Record<PushStatus, string> = {
  checking: 'Checking…',
  enabling: 'Turning on…',
  disabling: 'Turning off…',
  on: 'On for this browser.',
  off: 'Off: you are notified only while the app is open.',
  denied: PUSH_MESSAGES.denied,
  unsupported: PUSH_MESSAGES.unsupported,
  unavailable: PUSH_MESSAGES.unavailable,
}

function usePushState(): PushState {
  const controller = useController()
  return useSyncExternalStore(controller.push.state.subscribe, controller.push.state.getState)
}

function PushSettings() {
  const controller = useController()
  const { status, error } = usePushState()
  const id = useId()
  const on = status === 'on' || status === 'disabling'
  const busy = status === 'checking' || status === 'enabling' || status === 'disabling'
  const unusable = status === 'unsupported' || status === 'unavailable'
  const statusText = STATUS_TEXT[status]
  const problem = unusable || status === 'denied'

  function toggle() {
    if (busy || unusable) return
    void (on ? controller.push.disable() : controller.push.enable())
  }

  return (
    <section aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`} className="mb-2 text-sm font-semibold text-gray-900 dark:text-gray-100">
        Notifications
      </h3>
      <div className="flex items-start justify-between gap-4 rounded-lg border border-gray-200 p-3 dark:border-gray-700">
        <div className="min-w-0">
          <p id={`${id}-label`} className="text-sm font-medium text-gray-900 dark:text-gray-100">
            Push notifications on this device
          </p>
          <p id={`${id}-desc`} className="mt-0.5 text-xs text-gray-600 dark:text-gray-400">
            Get notified of new messages even when this tab is closed. Each browser or device has its own switch.
          </p>
        </div>
        <button
          type="button"
          role="switch"
          aria-checked={on}
          aria-labelledby={`${id}-label`}
          aria-describedby={`${id}-desc ${id}-status`}
          aria-busy={busy || undefined}
          disabled={busy || unusable}
          onClick={toggle}
          data-testid="push-switch"
          className={`relative mt-0.5 inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:cursor-not-allowed disabled:opacity-50 ${
            on ? 'bg-indigo-600 dark:bg-indigo-500' : 'bg-gray-300 dark:bg-gray-600'
          }`}
        >
          <span
            aria-hidden="true"
            className={`inline-block h-5 w-5 rounded-full bg-white shadow transition-transform ${on ? 'translate-x-5.5' : 'translate-x-0.5'}`}
          />
        </button>
      </div>
      <p
        id={`${id}-status`}
        role="status"
        data-testid="push-status"
        data-push-status={status}
        className={`mt-2 text-xs ${problem ? 'text-amber-800 dark:text-amber-300' : 'text-gray-600 dark:text-gray-400'}`}
      >
        {statusText}
      </p>
      {error && error !== statusText && (
        <p role="alert" className="mt-2 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      )}
    </section>
  )
}

function MutedRooms() {
  const state = useClientState()
  const controller = useController()
  const id = useId()
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const pushRules = state.accountData['m.push_rules']
  const muted = useMemo(() => {
    const ids = mutedRoomIds(pushRules, Object.keys(state.rooms))
    return [...ids]
      .map((roomId) => ({ roomId, name: roomDisplayName(state.rooms[roomId], state.userId) }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }, [pushRules, state.rooms, state.userId])

  async function unmute(roomId: string) {
    setBusy(roomId)
    setError(null)
    try {
      await controller.setRoomMuted(roomId, false)
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(null)
    }
  }

  return (
    <section aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`} className="mb-2 text-sm font-semibold text-gray-900 dark:text-gray-100">
        Muted rooms
      </h3>
      {muted.length === 0 ? (
        <p className="text-xs text-gray-600 dark:text-gray-400">
          None. Mute a room with the bell button in its header: it then never notifies, on any device.
        </p>
      ) : (
        <ul aria-labelledby={`${id}-heading`} className="flex flex-col divide-y divide-gray-200 rounded-lg border border-gray-200 dark:divide-gray-700 dark:border-gray-700">
          {muted.map((r) => (
            <li key={r.roomId} className="flex items-center gap-2 px-3 py-2">
              <BellIcon muted className="h-4 w-4 shrink-0 text-gray-500 dark:text-gray-400" />
              <span className="min-w-0 flex-1 truncate text-sm">{r.name}</span>
              <button
                type="button"
                disabled={busy !== null}
                onClick={() => unmute(r.roomId)}
                aria-label={`Unmute ${r.name}`}
                className="rounded-md border border-gray-300 px-2 py-1 text-xs font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:border-gray-600 dark:text-gray-200 dark:hover:bg-gray-800"
              >
                {busy === r.roomId ? 'Unmuting…' : 'Unmute'}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p role="alert" className="mt-2 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      )}
    </section>
  )
}
