import { useEffect, useMemo, useRef, useState } from 'react'
import { useClientState, useController, useNow } from '../app/context'
import type { Member } from '../app/controller'
import { describeError } from '../api/errors'
import { presenceLabel } from '../state/ephemeral'
import { AvatarWithPresence } from './Presence'
import { memberAvatar } from '../state/avatars'
import { remoteServer } from '../state/servers'
import { Spinner } from './ui'

const ORDER = { online: 0, unavailable: 1, offline: 2 } as const

/**
 * Joined members of a room with their presence. Desktop: a panel on the
 * right of the conversation; phone: a view of its own (with a back button).
 */
export function MemberPanel({ roomId, onClose, id }: { roomId: string; onClose: () => void; id: string }) {
  const controller = useController()
  const state = useClientState()
  const now = useNow()
  const room = state.rooms[roomId]
  const [members, setMembers] = useState<Member[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const headingRef = useRef<HTMLHeadingElement>(null)
  // Opening the panel moves the keyboard focus into it.
  useEffect(() => headingRef.current?.focus(), [])
  // Re-fetch when someone joins or leaves.
  const memberEvents = room?.state['m.room.member']

  useEffect(() => {
    let cancelled = false
    controller
      .joinedMembers(roomId)
      .then((m) => {
        if (!cancelled) {
          setMembers(m)
          setError(null)
          controller.ensurePresence(m.map((x) => x.userId))
        }
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(describeError(e))
      })
    return () => {
      cancelled = true
    }
  }, [controller, roomId, memberEvents])

  const sorted = useMemo(() => {
    if (!members) return []
    return [...members].sort((a, b) => {
      const pa = ORDER[state.presence[a.userId]?.presence ?? 'offline']
      const pb = ORDER[state.presence[b.userId]?.presence ?? 'offline']
      return pa - pb || a.displayName.localeCompare(b.displayName) || (a.userId < b.userId ? -1 : 1)
    })
  }, [members, state.presence])

  return (
    <aside
      id={id}
      aria-labelledby={`${id}-title`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation()
          onClose()
        }
      }}
      className="flex h-full min-h-0 w-full flex-col border-gray-200 bg-gray-50 md:w-72 md:shrink-0 md:border-l dark:border-gray-800 dark:bg-gray-900"
    >
      <header className="flex items-center gap-2 border-b border-gray-200 px-3 py-3 dark:border-gray-800">
        <button
          type="button"
          onClick={onClose}
          aria-label="Back to conversation"
          className="-ml-1 rounded-md p-1.5 text-gray-700 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 md:hidden dark:text-gray-200 dark:hover:bg-gray-800"
        >
          <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
            <path d="M12.5 4.5L7 10l5.5 5.5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </button>
        <h2 id={`${id}-title`} ref={headingRef} tabIndex={-1} className="flex-1 text-base font-semibold focus:outline-none">
          Members{members ? ` (${members.length})` : ''}
        </h2>
        <button
          type="button"
          onClick={onClose}
          aria-label="Close member list"
          className="hidden rounded-md p-1 text-gray-500 hover:bg-gray-100 hover:text-gray-900 focus-visible:outline-2 focus-visible:outline-indigo-500 md:inline-flex dark:text-gray-400 dark:hover:bg-gray-800 dark:hover:text-gray-100"
        >
          <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
            <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
          </svg>
        </button>
      </header>
      <div className="min-h-0 flex-1 overflow-y-auto py-2">
        {error && !members && <p role="alert" className="px-4 text-sm text-red-700 dark:text-red-300">{error}</p>}
        {!members && !error && (
          <div className="px-4">
            <Spinner label="Loading members…" />
          </div>
        )}
        {members && (
          <ul aria-label="Joined members" className="flex flex-col">
            {sorted.map((m) => {
              const presence = state.presence[m.userId]
              const label = m.userId === state.userId ? 'You' : presenceLabel(presence, now)
              return (
                <li key={m.userId} className="flex items-center gap-3 px-4 py-2" data-user-id={m.userId}>
                  <AvatarWithPresence
                    id={m.userId}
                    name={m.displayName}
                    presence={presence}
                    size="sm"
                    mxc={room ? memberAvatar(room.state, m.userId) : undefined}
                  />
                  <span className="min-w-0 flex-1">
                    <span className="block truncate text-sm font-medium text-gray-900 dark:text-gray-100">{m.displayName}</span>
                    <span className="block truncate text-xs text-gray-600 dark:text-gray-400" data-testid="member-presence">
                      {label}
                    </span>
                    {remoteServer(m.userId, state.userId) && (
                      <span className="block truncate text-xs text-gray-600 dark:text-gray-400" title={m.userId} data-testid="member-server">
                        from {remoteServer(m.userId, state.userId)}
                      </span>
                    )}
                  </span>
                </li>
              )
            })}
          </ul>
        )}
      </div>
    </aside>
  )
}
