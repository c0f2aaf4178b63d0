import { describe, expect, it, vi } from 'vitest'
import { MatrixError, NetworkError } from '../api/errors'
import { UploadQueue, type SendFileOptions } from './uploads'

interface Call {
  roomId: string
  file: File
  opts: SendFileOptions
  resolve: () => void
  reject: (e: unknown) => void
}

function setup(refusal: string | null = null) {
  const calls: Call[] = []
  const queue = new UploadQueue({
    refusal: async () => refusal,
    measure: async () => null,
    send: (roomId, file, opts) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ roomId, file, opts, resolve, reject })
        opts.signal.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')))
      }),
  })
  return { queue, calls, list: () => queue.store.getState() }
}

const file = (name = 'a.txt', size = 10) => new File([new Uint8Array(size)], name, { type: 'text/plain' })

describe('UploadQueue', () => {
  it('keeps each upload with its room, with its progress, until it is sent', async () => {
    const t = setup()
    t.queue.start('!a', file('a.txt'))
    t.queue.start('!b', file('b.txt'))
    await vi.waitFor(() => expect(t.calls).toHaveLength(2))
    expect(t.calls.map((c) => c.roomId)).toEqual(['!a', '!b'])
    t.calls[0].opts.onProgress(4, 10)
    expect(t.list().find((u) => u.roomId === '!a')).toMatchObject({ name: 'a.txt', loaded: 4, total: 10 })
    t.calls[0].resolve()
    await vi.waitFor(() => expect(t.list().map((u) => u.name)).toEqual(['b.txt']))
  })

  it('cancels an upload under way: aborted, and gone from the list', async () => {
    const t = setup()
    const id = t.queue.start('!a', file())
    await vi.waitFor(() => expect(t.calls).toHaveLength(1))
    t.queue.cancel(id)
    expect(t.calls[0].opts.signal.aborted).toBe(true)
    await vi.waitFor(() => expect(t.list()).toEqual([]))
  })

  it('keeps a failed upload with the reason; Retry sends the same file again to the same room', async () => {
    const t = setup()
    const f = file('notes.txt')
    const id = t.queue.start('!a', f)
    await vi.waitFor(() => expect(t.calls).toHaveLength(1))
    t.calls[0].reject(new NetworkError())
    await vi.waitFor(() => expect(t.list()[0].error).toBeDefined())
    expect(t.list()[0]).toMatchObject({ retryable: true, error: "Can't reach the server. Check your connection and try again." })

    t.queue.retry(id)
    expect(t.list()[0].error).toBeUndefined()
    await vi.waitFor(() => expect(t.calls).toHaveLength(2))
    expect(t.calls[1].file).toBe(f)
    expect(t.calls[1].roomId).toBe('!a')
    expect(t.calls[1].opts.name).toBe('notes.txt')
    t.calls[1].resolve()
    await vi.waitFor(() => expect(t.list()).toEqual([]))
  })

  it('dismisses a failed upload', async () => {
    const t = setup()
    const id = t.queue.start('!a', file())
    await vi.waitFor(() => expect(t.calls).toHaveLength(1))
    t.calls[0].reject(new MatrixError(500, 'M_UNKNOWN', 'Internal error'))
    await vi.waitFor(() => expect(t.list()[0]?.error).toBeDefined())
    t.queue.dismiss(id)
    expect(t.list()).toEqual([])
    t.queue.retry(id)
    expect(t.calls).toHaveLength(1)
  })

  it('refuses a file over the limit before sending anything, with no Retry', async () => {
    const t = setup('This file is 3 MB; the server accepts files up to 2 MB.')
    const id = t.queue.start('!a', file('huge.bin'))
    await vi.waitFor(() => expect(t.list()[0]?.error).toBe('This file is 3 MB; the server accepts files up to 2 MB.'))
    expect(t.list()[0].retryable).toBe(false)
    t.queue.retry(id)
    await Promise.resolve()
    expect(t.calls).toHaveLength(0)
  })

  it('names a pasted image after the moment it was pasted', async () => {
    const t = setup()
    t.queue.start('!a', new File([new Uint8Array(1)], 'image.png', { type: 'image/png' }), true)
    expect(t.list()[0].name).toMatch(/^Pasted image \d{4}-\d\d-\d\d \d\d\.\d\d\.\d\d\.png$/)
  })

  it('stops everything when the session stops', async () => {
    const t = setup()
    t.queue.start('!a', file())
    await vi.waitFor(() => expect(t.calls).toHaveLength(1))
    t.queue.abortAll()
    expect(t.calls[0].opts.signal.aborted).toBe(true)
    expect(t.list()).toEqual([])
  })
})
