import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react'
import type { SyncStatus } from '../sync/loop'
import type { ClientState } from '../state/types'
import type { ActivityState, ChatController } from './controller'

export const ControllerContext = createContext<ChatController | null>(null)

export function useController(): ChatController {
  const c = useContext(ControllerContext)
  if (!c) throw new Error('useController must be used inside <ControllerContext.Provider>')
  return c
}

export function useClientState(): ClientState {
  const c = useController()
  return useSyncExternalStore(c.store.subscribe, c.store.getState)
}

export function useSyncStatus(): SyncStatus {
  const c = useController()
  return useSyncExternalStore(c.syncStatus.subscribe, c.syncStatus.getState)
}

export function useActivity(): ActivityState {
  const c = useController()
  return useSyncExternalStore(c.activity.subscribe, c.activity.getState)
}

/** Date.now(), refreshed every `intervalMs` (for "5 min ago" labels). */
export function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs)
    return () => clearInterval(t)
  }, [intervalMs])
  return now
}

function subscribeVisibility(cb: () => void): () => void {
  document.addEventListener('visibilitychange', cb)
  return () => document.removeEventListener('visibilitychange', cb)
}

/** Whether the tab is visible. */
export function usePageVisible(): boolean {
  return useSyncExternalStore(
    subscribeVisibility,
    () => document.visibilityState !== 'hidden',
    () => true,
  )
}

function subscribeFocus(cb: () => void): () => void {
  window.addEventListener('focus', cb)
  window.addEventListener('blur', cb)
  document.addEventListener('visibilitychange', cb)
  return () => {
    window.removeEventListener('focus', cb)
    window.removeEventListener('blur', cb)
    document.removeEventListener('visibilitychange', cb)
  }
}

/** Whether the tab is visible and its window has the focus. */
export function usePageFocused(): boolean {
  return useSyncExternalStore(
    subscribeFocus,
    () => document.visibilityState !== 'hidden' && document.hasFocus(),
    () => true,
  )
}
