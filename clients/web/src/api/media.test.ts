import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MatrixClient, type TokenProvider } from './client'
import { MatrixError } from './errors'
import { uploadFile } from './media'

/** An XMLHttpRequest stand-in: records what was sent; the test answers or fails it. */
class FakeXhr {
  static last: FakeXhr | null = null
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: unknown = null
  status = 0
  responseText = ''
  aborted = false
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null
  open(method: string, url: string) {
    this.method = method
    this.url = url
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v
  }
  send(body: unknown) {
    this.body = body
    FakeXhr.last = this
  }
  abort() {
    this.aborted = true
    this.onabort?.()
  }
  answer(status: number, body: unknown) {
    this.status = status
    this.responseText = JSON.stringify(body)
    this.onload?.()
  }
}

const original = globalThis.XMLHttpRequest
beforeEach(() => {
  FakeXhr.last = null
  globalThis.XMLHttpRequest = FakeXhr as unknown as typeof XMLHttpRequest
})
afterEach(() => {
  globalThis.XMLHttpRequest = original
})

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('uploadFile', () => {
  it('posts the file with its type and name and the token, reporting progress', async () => {
    const client = new MatrixClient({ baseUrl: 'https://hs.test', accessToken: 'tok' })
    const progress: Array<[number, number]> = []
    const file = new Blob(['hello'], { type: 'text/plain' })
    const p = uploadFile(client, file, 'a b.txt', { onProgress: (l, t) => progress.push([l, t]) })
    await tick()
    const xhr = FakeXhr.last!
    expect(xhr.method).toBe('POST')
    expect(xhr.url).toBe('https://hs.test/_matrix/media/v3/upload?filename=a%20b.txt')
    expect(xhr.headers).toEqual({ Authorization: 'Bearer tok', 'Content-Type': 'text/plain' })
    expect(xhr.body).toBe(file)
    xhr.upload.onprogress?.({ loaded: 2, total: 5, lengthComputable: true })
    xhr.answer(200, { content_uri: 'mxc://hs.test/abc' })
    await expect(p).resolves.toBe('mxc://hs.test/abc')
    expect(progress).toEqual([[2, 5]])
  })

  it('aborts the request when cancelled, rejecting with an AbortError', async () => {
    const client = new MatrixClient({ accessToken: 'tok' })
    const abort = new AbortController()
    const p = uploadFile(client, new Blob(['x']), 'x', { signal: abort.signal })
    await tick()
    abort.abort()
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
    expect(FakeXhr.last!.aborted).toBe(true)
  })

  it("turns the server's refusal into a MatrixError", async () => {
    const client = new MatrixClient({ accessToken: 'tok' })
    const p = uploadFile(client, new Blob(['x']), 'x')
    await tick()
    FakeXhr.last!.answer(413, { errcode: 'M_TOO_LARGE', error: 'Too big' })
    const e = await p.catch((x: unknown) => x)
    expect(e).toBeInstanceOf(MatrixError)
    expect(e).toMatchObject({ httpStatus: 413, errcode: 'M_TOO_LARGE', message: 'Too big' })
  })

  it('refreshes an expired token once and uploads again', async () => {
    let current = 'old'
    const tokens: TokenProvider = {
      get current() {
        return current
      },
      accessToken: async () => current,
      refreshAfter: async () => {
        current = 'new'
        return current
      },
    }
    const client = new MatrixClient({ tokens })
    const p = uploadFile(client, new Blob(['x']), 'x')
    await tick()
    FakeXhr.last!.answer(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'expired', soft_logout: true })
    await tick()
    expect(FakeXhr.last!.headers.Authorization).toBe('Bearer new')
    FakeXhr.last!.answer(200, { content_uri: 'mxc://hs.test/z' })
    await expect(p).resolves.toBe('mxc://hs.test/z')
  })
})
