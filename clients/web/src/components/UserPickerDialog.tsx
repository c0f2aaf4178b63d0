import { useEffect, useState } from 'react'
import { useController } from '../app/context'
import { describeError } from '../api/errors'
import type { UserSearchResult } from '../api/types'
import { localpart } from '../state/events'
import { Avatar } from './Avatar'
import { Modal } from './Modal'
import { ErrorText, Spinner, TextField } from './ui'

/**
 * Search the user directory and pick someone (used to start a DM and to
 * invite people to a room). A full user id typed in is offered even when the
 * directory does not return it.
 */
export function UserPickerDialog({
  title,
  actionLabel,
  onClose,
  onPick,
}: {
  title: string
  actionLabel: string
  onClose: () => void
  onPick: (userId: string) => Promise<void>
}) {
  const controller = useController()
  const [term, setTerm] = useState('')
  // Results are tagged with the query they answer; while they answer an older
  // query a search is in progress.
  const [found, setFound] = useState<{ query: string; results: UserSearchResult[] }>({ query: '', results: [] })
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const query = term.trim()
  const results = query && found.query === query ? found.results : []
  const searching = query !== '' && found.query !== query && error === null

  useEffect(() => {
    if (!query) return
    const ctrl = new AbortController()
    const t = setTimeout(() => {
      controller
        .searchUsers(query, ctrl.signal)
        .then((r) => {
          setFound({ query, results: r.filter((u) => u.user_id !== controller.userId) })
          setError(null)
        })
        .catch((e: unknown) => {
          if (!ctrl.signal.aborted) setError(describeError(e))
        })
    }, 250)
    return () => {
      clearTimeout(t)
      ctrl.abort()
    }
  }, [query, controller])

  const typedId = /^@[^:\s]+:\S+$/.test(query) ? query : null
  const options: UserSearchResult[] =
    typedId && !results.some((r) => r.user_id === typedId) ? [{ user_id: typedId }, ...results] : results

  async function pick(userId: string) {
    setBusy(userId)
    setError(null)
    try {
      await onPick(userId)
    } catch (e) {
      setError(describeError(e))
      setBusy(null)
    }
  }

  return (
    <Modal title={title} onClose={onClose}>
      <div className="flex flex-col gap-3">
        <TextField
          label="Search people"
          type="search"
          placeholder="Name or @user:server"
          value={term}
          onChange={(e) => {
            setTerm(e.target.value)
            setError(null)
          }}
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          data-autofocus=""
        />
        <ErrorText>{error}</ErrorText>
        {searching && <Spinner label="Searching…" />}
        {!searching && query && !error && options.length === 0 && (
          <p className="text-sm text-gray-600 dark:text-gray-400">No users found.</p>
        )}
        {options.length > 0 && (
          <ul aria-label="Search results" className="flex max-h-72 flex-col overflow-y-auto">
            {options.map((u) => {
              const name = u.display_name || localpart(u.user_id)
              return (
                <li key={u.user_id}>
                  <button
                    type="button"
                    disabled={busy !== null}
                    onClick={() => pick(u.user_id)}
                    aria-label={`${actionLabel} ${name} (${u.user_id})`}
                    className="flex w-full items-center gap-3 rounded-lg px-2 py-2 text-left hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:hover:bg-gray-800"
                  >
                    <Avatar id={u.user_id} name={name} size="sm" mxc={u.avatar_url} />
                    <span className="min-w-0 flex-1">
                      <span className="block truncate text-sm font-medium">{name}</span>
                      <span className="block truncate text-xs text-gray-600 dark:text-gray-400">{u.user_id}</span>
                    </span>
                    <span className="text-xs font-medium text-indigo-700 dark:text-indigo-300">
                      {busy === u.user_id ? 'Working…' : actionLabel}
                    </span>
                  </button>
                </li>
              )
            })}
          </ul>
        )}
      </div>
    </Modal>
  )
}
