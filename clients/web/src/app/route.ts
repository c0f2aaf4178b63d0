import { useCallback, useSyncExternalStore } from 'react'

/**
 * The open room lives in the URL hash (#/room/<id>) so the browser's back
 * button returns from a conversation to the room list on phones.
 */
const PREFIX = '#/room/'

function subscribe(cb: () => void): () => void {
  window.addEventListener('hashchange', cb)
  return () => window.removeEventListener('hashchange', cb)
}

function getRoomFromHash(): string | null {
  const h = window.location.hash
  if (!h.startsWith(PREFIX)) return null
  try {
    return decodeURIComponent(h.slice(PREFIX.length)) || null
  } catch {
    return null
  }
}

// True when the current room entry was pushed by this page (so "back" can pop it).
let pushedByApp = false

/** Opens a room (or the room list, with null), as if the user had picked it. */
export function selectRoom(id: string | null): void {
  const base = window.location.pathname + window.location.search
  if (id === null) {
    if (getRoomFromHash() === null) return
    if (pushedByApp) {
      pushedByApp = false
      history.back()
      return
    }
    history.replaceState(null, '', base)
  } else if (getRoomFromHash() === null) {
    history.pushState(null, '', base + PREFIX + encodeURIComponent(id))
    pushedByApp = true
  } else {
    history.replaceState(null, '', base + PREFIX + encodeURIComponent(id))
  }
  window.dispatchEvent(new HashChangeEvent('hashchange'))
}

export function useSelectedRoom(): [string | null, (roomId: string | null) => void] {
  const roomId = useSyncExternalStore(subscribe, getRoomFromHash, () => null)
  const select = useCallback((id: string | null) => selectRoom(id), [])
  return [roomId, select]
}

if (typeof window !== 'undefined') {
  // Browser back/forward: the entry we pushed is gone or restored.
  window.addEventListener('popstate', () => {
    if (getRoomFromHash() === null) pushedByApp = false
  })
}
