import { createContext, useContext, useSyncExternalStore } from 'react'
import type { SyncStatus } from '../sync/loop'
import type { ClientState } from '../state/types'
import type { ChatController } from './controller'

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
