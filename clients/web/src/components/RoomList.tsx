import { useMemo, useState, type ReactNode } from 'react'
import { useClientState, useController, useNow, usePageVisible } from '../app/context'
import { describeError } from '../api/errors'
import { presenceLabel } from '../state/ephemeral'
import { formatListTime } from '../state/format'
import { mutedRoomIds } from '../state/pushRules'
import { buildInviteList, buildRoomList, type InviteEntry, type RoomListEntry } from '../state/rooms'
import type { PresenceInfo } from '../state/types'
import { Avatar } from './Avatar'
import { BellIcon } from './icons'
import { AvatarWithPresence } from './Presence'
import { Spinner } from './ui'

export function RoomList({
  selectedRoomId,
  onSelect,
}: {
  selectedRoomId: string | null
  onSelect: (roomId: string) => void
}) {
  const state = useClientState()
  const { rooms, directs } = useMemo(() => buildRoomList(state), [state])
  const invites = useMemo(() => buildInviteList(state), [state])
  const pushRules = state.accountData['m.push_rules']
  const muted = useMemo(() => mutedRoomIds(pushRules, Object.keys(state.rooms)), [pushRules, state.rooms])
  const visible = usePageVisible()
  const now = useNow()
  // The open room is being read: its badge would only flash until the server's count catches up.
  const readingRoomId = visible ? selectedRoomId : null

  if (!state.synced) {
    return (
      <div className="p-4">
        <Spinner label="Loading rooms…" />
      </div>
    )
  }

  return (
    <nav aria-label="Rooms" className="flex flex-col gap-4 py-2">
      {invites.length > 0 && (
        <Section title="Invites" count={invites.length}>
          {invites.map((inv) => (
            <InviteItem key={inv.roomId} invite={inv} onJoined={onSelect} />
          ))}
        </Section>
      )}
      <Section title="Rooms" count={rooms.length} empty="No rooms yet. Create or join one.">
        {rooms.map((r) => (
          <RoomItem
            key={r.roomId}
            entry={r}
            selected={r.roomId === selectedRoomId}
            reading={r.roomId === readingRoomId}
            muted={muted.has(r.roomId)}
            onSelect={onSelect}
            now={now}
          />
        ))}
      </Section>
      <Section title="Direct messages" count={directs.length} empty="No conversations yet.">
        {directs.map((r) => (
          <RoomItem
            key={r.roomId}
            entry={r}
            selected={r.roomId === selectedRoomId}
            reading={r.roomId === readingRoomId}
            muted={muted.has(r.roomId)}
            onSelect={onSelect}
            presence={r.partner ? (state.presence[r.partner] ?? null) : undefined}
            now={now}
          />
        ))}
      </Section>
    </nav>
  )
}

function Section({
  title,
  count,
  empty,
  children,
}: {
  title: string
  count: number
  empty?: string
  children: ReactNode
}) {
  const headingId = `section-${title.replace(/\s+/g, '-').toLowerCase()}`
  return (
    <section aria-labelledby={headingId}>
      <h2
        id={headingId}
        className="px-4 pb-1 text-xs font-semibold uppercase tracking-wide text-gray-600 dark:text-gray-400"
      >
        {title}
      </h2>
      {count === 0 && empty ? (
        <p className="px-4 py-2 text-sm text-gray-500 dark:text-gray-400">{empty}</p>
      ) : (
        <ul className="flex flex-col">{children}</ul>
      )}
    </section>
  )
}

function RoomItem({
  entry,
  selected,
  reading,
  muted,
  onSelect,
  presence,
  now,
}: {
  entry: RoomListEntry
  selected: boolean
  reading: boolean
  /** Notifications muted with a push rule. */
  muted: boolean
  onSelect: (roomId: string) => void
  /** For DMs: the other person's presence (null when unknown). */
  presence?: PresenceInfo | null
  now: number
}) {
  const count = reading ? 0 : entry.notifications
  const mentions = reading ? 0 : entry.highlights
  const parts = [entry.name]
  if (presence !== undefined) parts.push(presenceLabel(presence ?? undefined, now).toLowerCase())
  if (muted) parts.push('muted')
  if (count > 0) parts.push(`${count} unread message${count === 1 ? '' : 's'}`)
  if (mentions > 0) parts.push(`${mentions} mention${mentions === 1 ? '' : 's'}`)
  const previewId = `preview-${entry.roomId}`
  // The row's button has no text of its own: its name is the label above
  // (the room first) and the preview is its description, so what is read
  // matches what is shown (axe: label-content-name-mismatch).
  return (
    <li className="relative" data-room-row={entry.roomId}>
      <button
        type="button"
        onClick={() => onSelect(entry.roomId)}
        aria-current={selected ? 'page' : undefined}
        aria-label={parts.join(', ')}
        aria-describedby={entry.preview ? previewId : undefined}
        data-room-id={entry.roomId}
        className={`absolute inset-0 h-full w-full focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 ${
          selected ? 'bg-indigo-50 dark:bg-indigo-950' : 'hover:bg-gray-100 dark:hover:bg-gray-800'
        }`}
      />
      <div aria-hidden="true" className="pointer-events-none relative flex w-full items-center gap-3 px-4 py-2 text-left">
        {presence !== undefined ? (
          <AvatarWithPresence id={entry.partner ?? entry.roomId} name={entry.name} presence={presence ?? undefined} mxc={entry.avatar} />
        ) : (
          <Avatar id={entry.roomId} name={entry.name} mxc={entry.avatar} />
        )}
        <span className="flex min-w-0 flex-1 flex-col">
          <span className="flex items-baseline justify-between gap-2">
            <span className="flex min-w-0 items-center gap-1">
              <span
                className={`truncate text-sm ${count > 0 ? 'font-semibold text-gray-950 dark:text-white' : 'font-medium text-gray-900 dark:text-gray-100'}`}
              >
                {entry.name}
              </span>
              {muted && (
                <span data-testid="muted-icon" title="Muted" className="shrink-0 text-gray-500 dark:text-gray-400">
                  <BellIcon muted className="h-3.5 w-3.5" />
                </span>
              )}
            </span>
            <span className={`shrink-0 text-xs ${selected ? 'text-gray-700 dark:text-gray-300' : 'text-gray-600 dark:text-gray-400'}`}>
              {formatListTime(entry.ts)}
            </span>
          </span>
          <span className="flex items-center justify-between gap-2">
            <span id={previewId} className={`truncate text-sm ${selected ? 'text-gray-700 dark:text-gray-300' : 'text-gray-600 dark:text-gray-400'}`}>
              {entry.preview || '\u00a0'}
            </span>
            {count > 0 && (
              <span
                data-testid="unread-badge"
                data-highlight={mentions > 0 ? 'true' : undefined}
                className={`shrink-0 rounded-full px-2 py-0.5 text-xs font-semibold text-white ${
                  mentions > 0 ? 'bg-red-700 dark:bg-red-600' : 'bg-indigo-600 dark:bg-indigo-500'
                }`}
              >
                {mentions > 0 ? '@ ' : ''}
                {count > 99 ? '99+' : count}
              </span>
            )}
          </span>
        </span>
      </div>
    </li>
  )
}

function InviteItem({ invite, onJoined }: { invite: InviteEntry; onJoined: (roomId: string) => void }) {
  const controller = useController()
  const [busy, setBusy] = useState<'accept' | 'decline' | null>(null)
  const [error, setError] = useState<string | null>(null)

  async function act(kind: 'accept' | 'decline') {
    setBusy(kind)
    setError(null)
    try {
      if (kind === 'accept') onJoined(await controller.acceptInvite(invite.roomId))
      else await controller.declineInvite(invite.roomId)
    } catch (e) {
      setError(describeError(e))
      setBusy(null)
    }
  }

  return (
    <li className="px-4 py-2">
      <div className="flex items-center gap-3">
        <Avatar id={invite.roomId} name={invite.name} />
        <div className="min-w-0 flex-1">
          <p className="truncate text-sm font-medium text-gray-900 dark:text-gray-100">{invite.name}</p>
          <p className="truncate text-xs text-gray-600 dark:text-gray-400">
            {invite.isDirect ? 'Wants to chat with you' : invite.inviterName ? `Invited by ${invite.inviterName}` : 'Invitation'}
          </p>
        </div>
      </div>
      <div className="mt-2 flex gap-2 pl-13">
        <button
          type="button"
          disabled={busy !== null}
          onClick={() => act('accept')}
          aria-label={`Accept invitation to ${invite.name}`}
          className="rounded-md bg-indigo-600 px-3 py-1 text-xs font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-60"
        >
          {busy === 'accept' ? 'Joining…' : 'Accept'}
        </button>
        <button
          type="button"
          disabled={busy !== null}
          onClick={() => act('decline')}
          aria-label={`Decline invitation to ${invite.name}`}
          className="rounded-md border border-gray-300 px-3 py-1 text-xs font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:border-gray-600 dark:text-gray-200 dark:hover:bg-gray-800"
        >
          {busy === 'decline' ? 'Declining…' : 'Decline'}
        </button>
      </div>
      {error && (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </li>
  )
}
