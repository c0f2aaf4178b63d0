import { describe, expect, it } from 'vitest'
import { MatrixClient, type FetchLike } from './client'
import { MatrixError, NetworkError } from './errors'

interface Call {
  url: string
  method: string
  headers: Record<string, string>
  body: unknown
}

function fakeFetch(responses: { status: number; body?: unknown }[]): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = []
  const fetch: FetchLike = async (url, init) => {
    calls.push({
      url,
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    })
    const r = responses.shift()
    if (!r) throw new TypeError('Failed to fetch')
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), { status: r.status })
  }
  return { fetch, calls }
}

describe('MatrixClient', () => {
  it('registers through user-interactive auth with m.login.dummy', async () => {
    const { fetch, calls } = fakeFetch([
      { status: 401, body: { session: 'sess1', flows: [{ stages: ['m.login.dummy'] }], params: {} } },
      { status: 200, body: { user_id: '@a:hs', access_token: 'tok', device_id: 'DEV' } },
    ])
    const c = new MatrixClient({ fetch })
    const res = await c.register('a', 'pw')
    expect(res).toEqual({ user_id: '@a:hs', access_token: 'tok', device_id: 'DEV' })
    expect(calls.map((x) => x.url)).toEqual(['/_matrix/client/v3/register', '/_matrix/client/v3/register'])
    expect(calls[0].body).toMatchObject({ username: 'a', password: 'pw' })
    expect(calls[0].body).not.toHaveProperty('auth')
    expect(calls[1].body).toMatchObject({ username: 'a', password: 'pw', auth: { type: 'm.login.dummy', session: 'sess1' } })
  })

  it('surfaces {errcode, error} as MatrixError', async () => {
    const { fetch } = fakeFetch([{ status: 400, body: { errcode: 'M_USER_IN_USE', error: 'User ID already taken.' } }])
    const err = await new MatrixClient({ fetch }).register('a', 'pw').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MatrixError)
    expect(err).toMatchObject({ errcode: 'M_USER_IN_USE', httpStatus: 400, message: 'User ID already taken.' })
  })

  it('turns an unreachable server into NetworkError', async () => {
    const { fetch } = fakeFetch([])
    await expect(new MatrixClient({ fetch }).login('a', 'b')).rejects.toBeInstanceOf(NetworkError)
  })

  it('sends the bearer token, encodes path parts and uses the txn id in the URL', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: { event_id: '$e' } }])
    const c = new MatrixClient({ fetch, accessToken: 'secret' })
    await c.sendMessage('!room:hs', 'txn/1', { msgtype: 'm.text', body: 'hi' })
    expect(calls[0].method).toBe('PUT')
    expect(calls[0].url).toBe('/_matrix/client/v3/rooms/!room%3Ahs/send/m.room.message/txn%2F1')
    expect(calls[0].headers.Authorization).toBe('Bearer secret')
    expect(calls[0].body).toEqual({ msgtype: 'm.text', body: 'hi' })
  })

  it('builds the sync query and login body', async () => {
    const { fetch, calls } = fakeFetch([
      { status: 200, body: { next_batch: 'n' } },
      { status: 200, body: { user_id: '@a:hs', access_token: 't', device_id: 'd' } },
    ])
    const c = new MatrixClient({ fetch, accessToken: 'x' })
    await c.sync({ since: 's1', timeout: 30000, filter: '{"a":1}' })
    expect(calls[0].url).toBe('/_matrix/client/v3/sync?since=s1&timeout=30000&filter=%7B%22a%22%3A1%7D')
    await c.login('alice', 'pw', 'Dev')
    expect(calls[1].body).toEqual({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'alice' },
      password: 'pw',
      initial_device_display_name: 'Dev',
    })
    expect(calls[1].headers.Authorization).toBeUndefined()
  })
})
