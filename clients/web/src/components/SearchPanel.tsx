import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import { useClientState, useController } from '../app/context'
import { describeError } from '../api/errors'
import { memberName } from '../state/events'
import { formatListTime } from '../state/format'
import { roomDisplayName } from '../state/rooms'
import { appendHits, highlightSegments, type SearchHit } from '../state/search'
import { ErrorText, Spinner } from './ui'

interface Results {
  term: string
  roomId: string | null
  hits: SearchHit[]
  highlights: string[]
  count?: number
  nextBatch?: string
}

/**
 * Message search through the server's /search, newest first: in the room
 * on screen or in all of mine. A result opens its room at that message.
 * A dialog, full screen on a phone; Escape closes it and the focus goes
 * back where it was.
 */
export function SearchPanel({
  roomId,
  onClose,
  onOpen,
}: {
  /** The room on screen (null: none, so all rooms). */
  roomId: string | null
  onClose: () => void
  onOpen: (roomId: string, eventId: string) => void
}) {
  const controller = useController()
  const state = useClientState()
  const ref = useRef<HTMLDialogElement>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const id = useId()
  const [term, setTerm] = useState('')
  const [scope, setScope] = useState<'room' | 'all'>(roomId ? 'room' : 'all')
  const [results, setResults] = useState<Results | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const abort = useRef<AbortController | null>(null)
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null))

  useEffect(() => {
    const dialog = ref.current
    if (dialog && !dialog.open && typeof dialog.showModal === 'function') dialog.showModal()
    inputRef.current?.focus()
    return () => {
      abort.current?.abort()
      if (dialog?.open) dialog.close()
      if (opener?.isConnected) opener.focus()
    }
  }, [opener])

  async function run(searchTerm: string, inRoom: string | null, previous: Results | null) {
    abort.current?.abort()
    const ctl = new AbortController()
    abort.current = ctl
    setBusy(true)
    setError(null)
    try {
      const page = await controller.search(searchTerm, inRoom, previous?.nextBatch, ctl.signal)
      if (ctl.signal.aborted) return
      setResults({
        term: searchTerm,
        roomId: inRoom,
        hits: previous ? appendHits(previous.hits, page.hits) : page.hits,
        highlights: [...new Set([...(previous?.highlights ?? []), ...page.highlights])],
        count: page.count ?? previous?.count,
        nextBatch: page.nextBatch,
      })
    } catch (e) {
      if (!ctl.signal.aborted) setError(`Couldn't search: ${describeError(e)}`)
    } finally {
      if (abort.current === ctl) setBusy(false)
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault()
    const t = term.trim()
    if (t) void run(t, scope === 'room' ? roomId : null, null)
  }

  const currentName = roomId && state.rooms[roomId] ? roomDisplayName(state.rooms[roomId], state.userId) : null
  const summary = results
    ? results.hits.length === 0
      ? `No messages match “${results.term}”.`
      : `${results.count ?? results.hits.length} ${(results.count ?? results.hits.length) === 1 ? 'message matches' : 'messages match'} “${results.term}”${results.roomId ? ' in this room' : ''}.`
    : ''

  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose()
      }}
      data-testid="search-panel"
      className="m-0 h-full max-h-none w-full max-w-none bg-white p-0 text-gray-900 backdrop:bg-black/50 md:m-auto md:h-auto md:max-h-[85vh] md:w-[calc(100%-2rem)] md:max-w-xl md:rounded-xl md:shadow-xl dark:bg-gray-900 dark:text-gray-100"
    >
      <div className="flex h-full max-h-[inherit] flex-col p-4 md:p-5">
        <div className="mb-3 flex items-center justify-between gap-4">
          <h2 id={`${id}-title`} className="text-lg font-semibold">
            Search messages
          </h2>
          <button
            type="button"
            onClick={onClose}
            aria-label="Close"
            className="rounded-md p-1 text-gray-600 hover:bg-gray-100 hover:text-gray-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-400 dark:hover:bg-gray-800 dark:hover:text-gray-100"
          >
            <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
              <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
            </svg>
          </button>
        </div>
        <form role="search" onSubmit={submit} className="flex flex-col gap-2">
          <div className="flex gap-2">
            <label htmlFor={`${id}-term`} className="sr-only">
              Search for
            </label>
            <input
              ref={inputRef}
              id={`${id}-term`}
              type="search"
              value={term}
              onChange={(e) => setTerm(e.target.value)}
              onKeyDown={(e) => {
                // A search field would only clear itself on Escape: close, as everywhere else.
                if (e.key === 'Escape') {
                  e.preventDefault()
                  onClose()
                }
              }}
              placeholder="Words to find"
              autoComplete="off"
              enterKeyHint="search"
              className="min-w-0 flex-1 rounded-lg border border-gray-300 bg-white px-3 py-2 text-gray-900 placeholder:text-gray-500 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 dark:border-gray-600 dark:bg-gray-800 dark:text-gray-100 dark:placeholder:text-gray-400"
            />
            <button
              type="submit"
              disabled={!term.trim()}
              className="rounded-lg bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-60"
            >
              Search
            </button>
          </div>
          <fieldset className="flex flex-wrap gap-4 text-sm">
            <legend className="sr-only">Where to search</legend>
            <label className={`flex items-center gap-1.5 ${roomId ? '' : 'opacity-60'}`}>
              <input
                type="radio"
                name={`${id}-scope`}
                checked={scope === 'room'}
                disabled={!roomId}
                onChange={() => setScope('room')}
                className="accent-indigo-600"
              />
              <span className="max-w-56 truncate">{currentName ? `In ${currentName}` : 'This room'}</span>
            </label>
            <label className="flex items-center gap-1.5">
              <input type="radio" name={`${id}-scope`} checked={scope === 'all'} onChange={() => setScope('all')} className="accent-indigo-600" />
              All my rooms
            </label>
          </fieldset>
        </form>
        <ErrorText>{error}</ErrorText>
        <p role="status" data-testid="search-summary" className="mt-3 text-sm text-gray-700 dark:text-gray-300">
          {summary}
        </p>
        <div className="mt-2 min-h-0 flex-1 overflow-y-auto">
          {results && results.hits.length > 0 && (
            <ul aria-label="Search results" className="flex flex-col gap-1">
              {results.hits.map((hit) => (
                <ResultRow key={hit.eventId} hit={hit} highlights={results.highlights} showRoom={results.roomId === null} onOpen={onOpen} />
              ))}
            </ul>
          )}
          {busy && (
            <div className="py-3">
              <Spinner label="Searching…" />
            </div>
          )}
          {results?.nextBatch && !busy && (
            <button
              type="button"
              onClick={() => void run(results.term, results.roomId, results)}
              className="mt-2 w-full rounded-lg border border-gray-300 px-3 py-2 text-sm font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-gray-600 dark:text-gray-100 dark:hover:bg-gray-800"
            >
              Load more results
            </button>
          )}
        </div>
      </div>
    </dialog>
  )
}

function ResultRow({
  hit,
  highlights,
  showRoom,
  onOpen,
}: {
  hit: SearchHit
  highlights: string[]
  showRoom: boolean
  onOpen: (roomId: string, eventId: string) => void
}) {
  const state = useClientState()
  const room = state.rooms[hit.roomId]
  const roomName = room ? roomDisplayName(room, state.userId) : hit.roomId
  const sender = hit.sender === state.userId ? 'You' : room ? memberName(room.state, hit.sender) : hit.sender
  return (
    <li>
      <button
        type="button"
        onClick={() => onOpen(hit.roomId, hit.eventId)}
        data-testid="search-result"
        data-event-id={hit.eventId}
        className="flex w-full flex-col gap-0.5 rounded-lg px-2 py-2 text-left hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-gray-800"
      >
        <span className="flex items-baseline gap-2 text-xs text-gray-700 dark:text-gray-300">
          <span className="font-semibold text-gray-900 dark:text-gray-100">{sender}</span>
          {showRoom && <span className="truncate">in {roomName}</span>}
          <time className="ml-auto shrink-0" dateTime={new Date(hit.ts).toISOString()}>
            {formatListTime(hit.ts)}
          </time>
        </span>
        <span className="line-clamp-3 text-sm break-words whitespace-pre-wrap" data-testid="search-snippet">
          {highlightSegments(hit.body, highlights).map((s, i) =>
            s.hit ? (
              <mark key={i} className="rounded-sm bg-amber-200 px-0.5 text-gray-900 dark:bg-amber-700 dark:text-white">
                {s.text}
              </mark>
            ) : (
              <span key={i}>{s.text}</span>
            ),
          )}
        </span>
      </button>
    </li>
  )
}
