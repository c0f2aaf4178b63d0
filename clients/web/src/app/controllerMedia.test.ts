import { describe, expect, it, vi } from 'vitest'
import { MatrixClient, type FetchLike } from '../api/client'
import { ChatController } from './controller'

const ROOM = '!r:hs.test'

function setup(limit: number | null) {
  const calls: Array<{ method: string; url: string; body: unknown }> = []
  const fetch: FetchLike = async (url, init) => {
    calls.push({ method: init?.method ?? 'GET', url, body: init?.body ? JSON.parse(String(init.body)) : undefined })
    if (url.endsWith('/_matrix/client/v1/media/config')) {
      return new Response(JSON.stringify(limit === null ? {} : { 'm.upload.size': limit }), { status: 200 })
    }
    if (init?.method === 'PUT') return new Response(JSON.stringify({ event_id: '$e' }), { status: 200 })
    return new Response('{}', { status: 404 })
  }
  const controller = new ChatController({
    client: new MatrixClient({ fetch, accessToken: 'tok' }),
    userId: '@me:hs.test',
    onSessionEnded: () => undefined,
    socketFactory: null,
    pushEnvironment: null,
  })
  const upload = vi.spyOn(controller, 'upload').mockResolvedValue('mxc://hs.test/up')
  return { controller, calls, upload }
}

describe('ChatController.sendFile', () => {
  it('refuses a file over m.upload.size before uploading anything, asking the limit once', async () => {
    const t = setup(1000)
    const file = new File([new Uint8Array(1001)], 'big.bin', { type: 'application/octet-stream' })
    await expect(t.controller.sendFile(ROOM, file)).rejects.toThrow('This file is 1001 B; the server accepts files up to 1000 B.')
    await expect(t.controller.sendFile(ROOM, file)).rejects.toThrow()
    expect(t.upload).not.toHaveBeenCalled()
    expect(t.calls.filter((c) => c.url.endsWith('/media/config'))).toHaveLength(1)
    expect(t.calls.filter((c) => c.method === 'PUT')).toHaveLength(0)
  })

  it('uploads, then sends m.image with its size, type and dimensions', async () => {
    const t = setup(null)
    const file = new File([new Uint8Array(10)], 'cat.png', { type: 'image/png' })
    await t.controller.sendFile(ROOM, file, { dimensions: { width: 40, height: 30 } })
    await vi.waitFor(() => expect(t.calls.filter((c) => c.method === 'PUT')).toHaveLength(1))
    const put = t.calls.find((c) => c.method === 'PUT')!
    expect(put.url).toContain('/send/m.room.message/')
    expect(put.body).toEqual({
      msgtype: 'm.image',
      body: 'cat.png',
      filename: 'cat.png',
      url: 'mxc://hs.test/up',
      info: { mimetype: 'image/png', size: 10, w: 40, h: 30 },
    })
    expect(t.upload).toHaveBeenCalledWith(file, 'cat.png', expect.anything())
  })

  it('sends other files as m.file, under the name given (a pasted image’s)', async () => {
    const t = setup(100)
    const file = new File([new Uint8Array(3)], 'blob', { type: '' })
    await t.controller.sendFile(ROOM, file, { name: 'notes' })
    await vi.waitFor(() => expect(t.calls.filter((c) => c.method === 'PUT')).toHaveLength(1))
    expect(t.calls.find((c) => c.method === 'PUT')!.body).toMatchObject({
      msgtype: 'm.file',
      body: 'notes',
      info: { mimetype: 'application/octet-stream', size: 3 },
    })
  })
})
