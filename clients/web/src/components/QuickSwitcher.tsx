import { useId, useMemo, useState, type KeyboardEvent } from 'react'
import { useClientState, useController } from '../app/context'
import { describeError } from '../api/errors'
import { switcherItems, type SwitcherItem } from '../state/switcher'
import { Avatar } from './Avatar'
import { Modal } from './Modal'
import { ErrorText } from './ui'

/**
 * Ctrl/Cmd+K: type a few letters of a room or a person, arrows to choose,
 * Enter to go (a person opens the DM with them, created when needed).
 */
export function QuickSwitcher({ onClose, onOpen }: { onClose: () => void; onOpen: (roomId: string) => void }) {
  const controller = useController()
  const state = useClientState()
  const [query, setQuery] = useState('')
  const [active, setActive] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const items = useMemo(() => switcherItems(state, query), [state, query])
  const listId = useId()
  const current = Math.min(active, items.length - 1)

  async function go(item: SwitcherItem) {
    try {
      onOpen(item.kind === 'room' ? item.roomId : await controller.startDirect(item.userId))
    } catch (e) {
      setError(describeError(e))
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      if (items.length) setActive((a) => (Math.min(a, items.length - 1) + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length)
    } else if (e.key === 'Enter') {
      e.preventDefault()
      if (items[current]) void go(items[current])
    }
  }

  return (
    <Modal title="Go to a room or person" onClose={onClose}>
      <label htmlFor={`${listId}-input`} className="sr-only">
        Search rooms and people
      </label>
      <input
        id={`${listId}-input`}
        data-autofocus=""
        value={query}
        onChange={(e) => {
          setQuery(e.target.value)
          setActive(0)
        }}
        onKeyDown={onKeyDown}
        placeholder="Search rooms and people"
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={items[current] ? `${listId}-${current}` : undefined}
        autoComplete="off"
        className="w-full rounded-lg border border-gray-300 bg-white px-3 py-2 text-gray-900 placeholder:text-gray-500 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 dark:border-gray-600 dark:bg-gray-800 dark:text-gray-100 dark:placeholder:text-gray-400"
      />
      <ErrorText>{error}</ErrorText>
      <ul id={listId} role="listbox" aria-label="Matches" className="mt-3 flex max-h-80 flex-col overflow-y-auto">
        {items.length === 0 && <li className="px-2 py-2 text-sm text-gray-600 dark:text-gray-400">No room or person matches.</li>}
        {items.map((item, i) => {
          const label = item.kind === 'room' ? (item.isDirect ? 'Direct message' : 'Room') : 'Person: start a conversation'
          return (
            <li
              key={item.kind === 'room' ? item.roomId : item.userId}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === current}
              onClick={() => void go(item)}
              onMouseMove={() => setActive(i)}
              className="flex cursor-pointer items-center gap-3 rounded-lg px-2 py-1.5 aria-selected:bg-indigo-50 dark:aria-selected:bg-indigo-950"
            >
              <Avatar id={item.kind === 'room' ? item.roomId : item.userId} name={item.name} size="sm" />
              <span className="flex min-w-0 flex-col">
                <span className="truncate text-sm font-medium">{item.name}</span>
                <span className="truncate text-xs text-gray-600 dark:text-gray-400">{label}</span>
              </span>
            </li>
          )
        })}
      </ul>
      <p className="mt-3 text-xs text-gray-600 dark:text-gray-400">↑ ↓ to choose, Enter to open, Esc to close</p>
    </Modal>
  )
}
