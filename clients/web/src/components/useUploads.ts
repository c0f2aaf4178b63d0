import { useCallback, useMemo, useSyncExternalStore } from 'react'
import { useController } from '../app/context'

export type { Upload } from '../app/uploads'

/**
 * A room's uploads: each uploaded with progress, cancellable, then sent as
 * a message; a failed one can be retried. They are kept by the controller,
 * so they go on (and are shown again) when the user comes back from
 * another room.
 */
export function useUploads(roomId: string) {
  const controller = useController()
  const queue = controller.uploads
  const all = useSyncExternalStore(queue.store.subscribe, queue.store.getState)
  const uploads = useMemo(() => all.filter((u) => u.roomId === roomId), [all, roomId])
  const send = useCallback((file: File, pasted = false) => queue.start(roomId, file, pasted), [queue, roomId])
  const cancel = useCallback((id: number) => queue.cancel(id), [queue])
  const retry = useCallback((id: number) => queue.retry(id), [queue])
  const dismiss = useCallback((id: number) => queue.dismiss(id), [queue])
  return { uploads, send, cancel, retry, dismiss }
}
