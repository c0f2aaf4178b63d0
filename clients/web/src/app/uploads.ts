import { describeError, isAbortError } from '../api/errors'
import { msgtypeFor, pastedFileName } from '../state/media'
import { createStore, type Store } from '../state/store'

/** A file being sent to a room, as shown in that room's upload tray. */
export interface Upload {
  id: number
  roomId: string
  name: string
  loaded: number
  total: number
  /** Set when it failed or was refused (shown until dismissed or retried). */
  error?: string
  /** Whether trying again can help: a failed transfer, not a file the server refuses for its size. */
  retryable?: boolean
}

export interface SendFileOptions {
  name: string
  dimensions: { width: number; height: number } | null
  signal: AbortSignal
  onProgress: (loaded: number, total: number) => void
}

export interface UploadQueueDeps {
  /** Why a file of this size can't be uploaded (null: it can). */
  refusal: (size: number) => Promise<string | null>
  /** Uploads the file and sends it to the room as a message. */
  send: (roomId: string, file: File, opts: SendFileOptions) => Promise<unknown>
  /** The pixel size of an image (null when unknown). */
  measure?: (file: File) => Promise<{ width: number; height: number } | null>
}

/** The pixel size of an image file (null when the browser can't decode it). */
export async function imageSize(file: File): Promise<{ width: number; height: number } | null> {
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

type Update = (list: Upload[]) => Upload[]

/**
 * The uploads of the whole session, one queue for every room: they live
 * in the controller, not in a room's view, so an upload keeps going (and
 * keeps its progress bar and Cancel) while the user is in another room,
 * and its message goes to the room it was started in. A failed one keeps
 * its file for Retry until it is dismissed.
 */
export class UploadQueue {
  readonly store: Store<Upload[], Update> = createStore<Upload[], Update>((list, update) => update(list), [])
  private readonly files = new Map<number, { file: File; abort: AbortController | null }>()
  private nextId = 1

  private readonly deps: UploadQueueDeps

  constructor(deps: UploadQueueDeps) {
    this.deps = deps
  }

  /** Starts sending a file to a room (a pasted image gets a dated name); returns its id. */
  start(roomId: string, file: File, pasted = false): number {
    const id = this.nextId++
    const name = pasted ? pastedFileName(file.type, new Date()) : file.name || 'file'
    this.store.dispatch((list) => [...list, { id, roomId, name, loaded: 0, total: file.size }])
    this.files.set(id, { file, abort: null })
    void this.run(id)
    return id
  }

  /** Stops an upload under way (it goes away), or dismisses a failed one. */
  cancel(id: number): void {
    const entry = this.files.get(id)
    if (entry?.abort) entry.abort.abort()
    else this.remove(id)
  }

  dismiss(id: number): void {
    this.cancel(id)
  }

  /** Sends a failed upload again, from the start. */
  retry(id: number): void {
    const upload = this.store.getState().find((u) => u.id === id)
    const entry = this.files.get(id)
    if (!upload?.error || !upload.retryable || !entry || entry.abort) return
    this.patch(id, { error: undefined, retryable: undefined, loaded: 0 })
    void this.run(id)
  }

  /** Stops every upload (signing out). */
  abortAll(): void {
    for (const entry of this.files.values()) entry.abort?.abort()
    this.files.clear()
    this.store.dispatch(() => [])
  }

  private async run(id: number): Promise<void> {
    const entry = this.files.get(id)
    const upload = this.store.getState().find((u) => u.id === id)
    if (!entry || !upload) return
    // Cancel works from the start, while the limit is being asked too.
    const abort = new AbortController()
    entry.abort = abort
    try {
      // The server's limit is checked before a byte is sent.
      const refusal = await this.deps.refusal(entry.file.size)
      if (abort.signal.aborted) throw new DOMException('Cancelled', 'AbortError')
      if (refusal) {
        this.patch(id, { error: refusal, retryable: false })
        return
      }
      const dimensions = await (this.deps.measure ?? imageSize)(entry.file)
      await this.deps.send(upload.roomId, entry.file, {
        name: upload.name,
        dimensions,
        signal: abort.signal,
        onProgress: (loaded, total) => this.patch(id, { loaded, total }),
      })
      this.remove(id)
    } catch (e) {
      if (abort.signal.aborted || isAbortError(e)) this.remove(id)
      else this.patch(id, { error: describeError(e), retryable: true })
    } finally {
      if (entry.abort === abort) entry.abort = null
    }
  }

  private patch(id: number, p: Partial<Upload>): void {
    this.store.dispatch((list) => (list.some((u) => u.id === id) ? list.map((u) => (u.id === id ? { ...u, ...p } : u)) : list))
  }

  private remove(id: number): void {
    this.files.delete(id)
    this.store.dispatch((list) => (list.some((u) => u.id === id) ? list.filter((u) => u.id !== id) : list))
  }
}
