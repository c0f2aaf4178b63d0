import { describe, expect, it } from 'vitest'
import type { Pusher, PusherSetRequest } from '../api/types'
import { base64UrlToBytes, bytesToBase64Url } from './base64url'
import { APP_ID, type PushSubscriptionLike } from './pusher'
import { PUSH_MESSAGES, WebPush, type PushApi, type PushEnvironment, type PushManagerLike } from './webPush'

const VAPID = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM'
const ME = '@me:hs.test'

class FakeBrowser {
  permission: NotificationPermission = 'default'
  answer: NotificationPermission = 'granted'
  permissionRequests = 0
  current: PushSubscriptionLike | null = null
  subscribeCalls: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }[] = []
  subscribeFails: Error | null = null
  subscribeHangs = false
  unsubscribed = 0
  storage = new Map<string, string>()
  private counter = 0

  makeSubscription(serverKey: Uint8Array | null): PushSubscriptionLike {
    this.counter += 1
    const n = this.counter
    const p256dh = new Uint8Array(65).fill(n)
    p256dh[0] = 4
    const auth = new Uint8Array(16).fill(100 + n)
    const sub: PushSubscriptionLike = {
      endpoint: `https://push.example/sub${n}`,
      options: { applicationServerKey: serverKey ? serverKey.slice().buffer : null },
      getKey: (name) => (name === 'p256dh' ? p256dh.slice().buffer : auth.slice().buffer),
      unsubscribe: async () => {
        this.unsubscribed += 1
        if (this.current === sub) this.current = null
        return true
      },
    }
    return sub
  }

  env(): PushEnvironment {
    const pm: PushManagerLike = {
      getSubscription: async () => this.current,
      subscribe: (options) => {
        this.subscribeCalls.push(options)
        if (this.subscribeHangs) return new Promise(() => {})
        if (this.subscribeFails) return Promise.reject(this.subscribeFails)
        this.current = this.makeSubscription(options.applicationServerKey)
        return Promise.resolve(this.current)
      },
    }
    return {
      supported: () => true,
      permission: () => this.permission,
      requestPermission: async () => {
        this.permissionRequests += 1
        this.permission = this.answer
        return this.answer
      },
      pushManager: async () => pm,
      storage: {
        getItem: (k) => this.storage.get(k) ?? null,
        setItem: (k, v) => void this.storage.set(k, v),
        removeItem: (k) => void this.storage.delete(k),
      },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      language: 'de-DE',
    }
  }
}

class FakeServer implements PushApi {
  pushers: Pusher[] = []
  sets: PusherSetRequest[] = []
  webpush: object | null = { enabled: true, vapid: VAPID }
  failSet: Error | null = null

  async capabilities() {
    return { capabilities: this.webpush ? { 'm.webpush': this.webpush } : {} }
  }
  async getPushers() {
    return { pushers: this.pushers.map((p) => ({ ...p, activated: true })) }
  }
  async setPusher(body: PusherSetRequest) {
    this.sets.push(body)
    if (this.failSet) throw this.failSet
    this.pushers = this.pushers.filter((p) => !(p.app_id === body.app_id && p.pushkey === body.pushkey))
    if (body.kind !== null) this.pushers.push(body as Pusher)
  }
}

function setup() {
  const browser = new FakeBrowser()
  const server = new FakeServer()
  const push = new WebPush({ api: server, userId: ME, env: browser.env(), subscribeTimeoutMs: 50 })
  return { browser, server, push }
}

describe('WebPush', () => {
  it('turning on asks for permission, subscribes with the VAPID key as bytes and registers the pusher', async () => {
    const { browser, server, push } = setup()
    await push.load()
    expect(push.state.getState()).toEqual({ status: 'off', error: null })
    await push.enable()
    expect(browser.permissionRequests).toBe(1)
    expect(browser.subscribeCalls).toHaveLength(1)
    const opts = browser.subscribeCalls[0]
    expect(opts.userVisibleOnly).toBe(true)
    expect(opts.applicationServerKey).toBeInstanceOf(Uint8Array)
    expect(opts.applicationServerKey).toEqual(base64UrlToBytes(VAPID))
    const p256dh = bytesToBase64Url(browser.current!.getKey('p256dh')!)
    expect(server.sets).toEqual([
      {
        kind: 'webpush',
        app_id: APP_ID,
        pushkey: p256dh,
        app_display_name: 'Homeserver web',
        device_display_name: 'Firefox on Linux',
        lang: 'de-DE',
        data: { url: 'https://push.example/sub1', auth: bytesToBase64Url(browser.current!.getKey('auth')!) },
      },
    ])
    expect(push.state.getState()).toEqual({ status: 'on', error: null })
    expect(JSON.parse(browser.storage.get(`hs.push.${ME}`)!)).toEqual({ enabled: true, pushkey: p256dh })

    // A reload: everything agrees, nothing is sent.
    const again = new WebPush({ api: server, userId: ME, env: browser.env() })
    await again.load()
    expect(again.status).toBe('on')
    expect(server.sets).toHaveLength(1)
    expect(browser.subscribeCalls).toHaveLength(1)
  })

  it('turning off deletes the pusher (kind null) and unsubscribes', async () => {
    const { browser, server, push } = setup()
    browser.permission = 'granted'
    await push.enable()
    const pushkey = server.pushers[0].pushkey
    await push.disable()
    expect(server.sets.at(-1)).toEqual({ kind: null, app_id: APP_ID, pushkey })
    expect(server.pushers).toEqual([])
    expect(browser.current).toBeNull()
    expect(push.state.getState()).toEqual({ status: 'off', error: null })
    expect(JSON.parse(browser.storage.get(`hs.push.${ME}`)!)).toEqual({ enabled: false })
  })

  it('a failed delete is retried on the next start', async () => {
    const { browser, server, push } = setup()
    browser.permission = 'granted'
    await push.enable()
    const pushkey = server.pushers[0].pushkey
    server.failSet = new Error('offline')
    await push.disable()
    expect(push.state.getState().status).toBe('off')
    expect(push.state.getState().error).toMatch(/couldn't be told/)
    expect(browser.current).toBeNull()
    server.failSet = null
    const again = new WebPush({ api: server, userId: ME, env: browser.env() })
    await again.load()
    expect(server.sets.at(-1)).toEqual({ kind: null, app_id: APP_ID, pushkey })
    expect(server.pushers).toEqual([])
    expect(again.state.getState()).toEqual({ status: 'off', error: null })
  })

  it('permission denied: nothing subscribed, a clear message', async () => {
    const { browser, server, push } = setup()
    browser.answer = 'denied'
    await push.enable()
    expect(browser.subscribeCalls).toEqual([])
    expect(server.sets).toEqual([])
    expect(push.state.getState()).toEqual({ status: 'denied', error: PUSH_MESSAGES.denied })
  })

  it('a server without m.webpush: unavailable, the browser is not subscribed', async () => {
    const { browser, server, push } = setup()
    server.webpush = null
    await push.load()
    expect(push.status).toBe('unavailable')
    browser.permission = 'granted'
    await push.enable()
    expect(browser.subscribeCalls).toEqual([])
    expect(push.state.getState()).toEqual({ status: 'unavailable', error: PUSH_MESSAGES.unavailable })
  })

  it('a browser without push support', async () => {
    const server = new FakeServer()
    const env = { ...new FakeBrowser().env(), supported: () => false }
    const push = new WebPush({ api: server, userId: ME, env })
    expect(push.status).toBe('unsupported')
    await push.load()
    await push.enable()
    expect(push.state.getState()).toEqual({ status: 'unsupported', error: PUSH_MESSAGES.unsupported })
    const none = new WebPush({ api: server, userId: ME, env: null })
    expect(none.status).toBe('unsupported')
  })

  it('a subscribe() that never answers times out and stays off', async () => {
    const { browser, server, push } = setup()
    browser.permission = 'granted'
    browser.subscribeHangs = true
    await push.enable()
    expect(push.state.getState()).toEqual({ status: 'off', error: PUSH_MESSAGES.timeout })
    expect(server.sets).toEqual([])
  })

  it('a refused pusher: the new subscription is dropped again', async () => {
    const { browser, server, push } = setup()
    browser.permission = 'granted'
    server.failSet = new Error('data.url is not allowed')
    await push.enable()
    expect(push.state.getState().status).toBe('off')
    expect(push.state.getState().error).toMatch(/data.url is not allowed/)
    expect(browser.current).toBeNull()
  })

  it('on load, a pusher the server dropped is replaced by a new subscription', async () => {
    const { browser, server, push } = setup()
    browser.permission = 'granted'
    await push.enable()
    const first = browser.current!.endpoint
    server.pushers = [] // the push service answered 410
    const again = new WebPush({ api: server, userId: ME, env: browser.env() })
    await again.load()
    expect(again.status).toBe('on')
    expect(browser.current!.endpoint).not.toBe(first)
    expect(server.pushers.map((p) => p.data.url)).toEqual([browser.current!.endpoint])
  })

  it('signing out forgets the choice and unsubscribes', async () => {
    const { browser, push } = setup()
    browser.permission = 'granted'
    await push.enable()
    await push.forget()
    expect(browser.current).toBeNull()
    expect(browser.storage.has(`hs.push.${ME}`)).toBe(false)
  })
})
