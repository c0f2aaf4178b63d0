import { useCallback, useRef, useState } from 'react'
import { useController } from '../app/context'
import { describeError, isAbortError } from '../api/errors'
import { msgtypeFor, pastedFileName } from '../state/media'

export interface Upload {
  id: number
  name: string
  loaded: number
  total: number
  /** Set when it failed or was refused (shown until dismissed). */
  error?: string
}

/** The pixel size of an image file (null when the browser can't decode it). */
async function imageSize(file: File): Promise<{ width: number; height: number } | null> {
  if (msgtypeFor(file.type) !== 'm.image' || typeof createImageBitmap !== 'function') return null
  try {
    const bitmap = await createImageBitmap(file)
    const size = { width: bitmap.width, height: bitmap.height }
    bitmap.close()
    return size
  } catch {
    return null
  }
}

/** Files being sent to a room: each uploaded with progress, cancellable, then sent as a message. */
export function useUploads(roomId: string) {
  const controller = useController()
  const [uploads, setUploads] = useState<Upload[]>([])
  const aborts = useRef(new Map<number, AbortController>())
  const nextId = useRef(1)

  const patch = useCallback((id: number, p: Partial<Upload>) => {
    setUploads((list) => list.map((u) => (u.id === id ? { ...u, ...p } : u)))
  }, [])
  const remove = useCallback((id: number) => {
    aborts.current.delete(id)
    setUploads((list) => list.filter((u) => u.id !== id))
  }, [])

  const send = useCallback(
    async (file: File, pasted = false) => {
      const id = nextId.current++
      const name = pasted ? pastedFileName(file.type, new Date()) : file.name || 'file'
      setUploads((list) => [...list, { id, name, loaded: 0, total: file.size }])
      // Cancel works from the start, while the limit is being asked too.
      const abort = new AbortController()
      aborts.current.set(id, abort)
      // The server's limit is checked before a byte is sent.
      const refusal = await controller.uploadRefusal(file.size)
      if (abort.signal.aborted) {
        remove(id)
        return
      }
      if (refusal) {
        aborts.current.delete(id)
        patch(id, { error: refusal })
        return
      }
      try {
        const dimensions = await imageSize(file)
        await controller.sendFile(roomId, file, {
          name,
          dimensions,
          signal: abort.signal,
          onProgress: (loaded, total) => patch(id, { loaded, total }),
        })
        remove(id)
      } catch (e) {
        if (isAbortError(e)) remove(id)
        else patch(id, { error: describeError(e) })
      } finally {
        aborts.current.delete(id)
      }
    },
    [controller, roomId, patch, remove],
  )

  const cancel = useCallback(
    (id: number) => {
      const abort = aborts.current.get(id)
      if (abort) abort.abort()
      else remove(id)
    },
    [remove],
  )

  return { uploads, send, cancel }
}
