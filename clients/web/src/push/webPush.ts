import type { MatrixClient } from '../api/client'
import { describeError } from '../api/errors'
import { createStore, type Store } from '../state/store'
import { base64UrlToBytes } from './base64url'
import {
  deviceDisplayName,
  removePusher,
  subscriptionInfo,
  vapidKey,
  webPushPusher,
  type PushSubscriptionLike,
  type SubscriptionInfo,
} from './pusher'
import { reconcile, type PushAction, type PushStatus, type ReconcilePlan, type StoredPush } from './reconcile'

/**
 * Web Push on this device: subscribes the browser with the server's VAPID
 * key and registers the subscription as a `webpush` pusher (MSC4174), or
 * undoes both. The choice is remembered per user in localStorage and checked
 * against the browser and the server on every start (see reconcile.ts).
 */

export interface PushManagerLike {
  getSubscription(): Promise<PushSubscriptionLike | null>
  subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }): Promise<PushSubscriptionLike>
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/** The browser, as far as Web Push is concerned (a fake one in tests). */
export interface PushEnvironment {
  /** Service workers, the Push API and notifications are there (and the page is a secure context). */
  supported(): boolean
  permission(): NotificationPermission
  requestPermission(): Promise<NotificationPermission>
  /** The push manager of the active service worker registration (null: none). */
  pushManager(): Promise<PushManagerLike | null>
  storage: StorageLike | null
  userAgent: string
  language: string
}

export type PushApi = Pick<MatrixClient, 'capabilities' | 'getPushers' | 'setPusher'>

export interface PushState {
  status: PushStatus
  /** What went wrong last (shown under the switch); null when all is well. */
  error: string | null
}

const SUBSCRIBE_TIMEOUT_MS = 30_000

export const PUSH_MESSAGES = {
  unsupported:
    "This browser can't receive push notifications here. It needs service workers and the Push API, on https (or localhost).",
  unavailable: "This server doesn't offer push notifications.",
  denied: "Notifications are blocked for this site. Allow them in your browser's site settings, then try again.",
  notAllowed: 'Notifications were not allowed, so push stays off.',
  timeout: "The browser's push service didn't answer. Try again later.",
} as const

class PushError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PushError(message)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}

export class WebPush {
  readonly state: Store<PushState, Partial<PushState>>
  private readonly api: PushApi
  private readonly env: PushEnvironment | null
  private readonly storageKey: string
  private readonly subscribeTimeoutMs: number
  /** Operations run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve()

  constructor(opts: { api: PushApi; userId: string; env: PushEnvironment | null; subscribeTimeoutMs?: number }) {
    this.api = opts.api
    this.env = opts.env
    this.storageKey = `hs.push.${opts.userId}`
    this.subscribeTimeoutMs = opts.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS
    const supported = !!opts.env && opts.env.supported()
    this.state = createStore<PushState, Partial<PushState>>(
      (s, patch) => (Object.entries(patch).every(([k, v]) => s[k as keyof PushState] === v) ? s : { ...s, ...patch }),
      { status: supported ? 'checking' : 'unsupported', error: null },
    )
  }

  get status(): PushStatus {
    return this.state.getState().status
  }

  /** Checks the browser and the server against what was chosen here, and fixes what disagrees. */
  load(): Promise<void> {
    return this.run(() => this.doLoad())
  }

  /** Turns push on (asks for the notification permission when it has not been asked yet). */
  enable(): Promise<void> {
    const env = this.env
    if (!env || !env.supported()) {
      this.state.dispatch({ status: 'unsupported', error: PUSH_MESSAGES.unsupported })
      return Promise.resolve()
    }
    // Asked right away, while the click that asked for it still counts as a user gesture.
    const permission = env.permission() === 'default' ? env.requestPermission().catch(() => env.permission()) : null
    this.state.dispatch({ status: 'enabling', error: null })
    return this.run(() => this.doEnable(permission))
  }

  /** Turns push off: the pusher is deleted and the browser unsubscribed. */
  disable(): Promise<void> {
    if (!this.env || !this.env.supported()) return Promise.resolve()
    this.state.dispatch({ status: 'disabling', error: null })
    return this.run(() => this.doDisable())
  }

  /** Signing out: the browser's subscription goes and nothing is remembered (the server drops the device's pushers). */
  forget(): Promise<void> {
    return this.run(async () => {
      this.env?.storage?.removeItem(this.storageKey)
      if (!this.env?.supported()) return
      const pm = await this.env.pushManager().catch(() => null)
      const sub = await pm?.getSubscription().catch(() => null)
      await sub?.unsubscribe().catch(() => false)
    })
  }

  private run(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op, op)
    this.queue = next.catch(() => undefined)
    return next
  }

  // ---- Storage -------------------------------------------------------------

  private readStored(): StoredPush | null {
    try {
      const raw = this.env?.storage?.getItem(this.storageKey)
      if (!raw) return null
      const v = JSON.parse(raw) as Partial<StoredPush>
      if (typeof v.enabled !== 'boolean') return null
      return { enabled: v.enabled, ...(typeof v.pushkey === 'string' ? { pushkey: v.pushkey } : {}) }
    } catch {
      return null
    }
  }

  private writeStored(v: StoredPush | null): void {
    try {
      if (v) this.env?.storage?.setItem(this.storageKey, JSON.stringify(v))
      else this.env?.storage?.removeItem(this.storageKey)
    } catch {
      /* storage full or disabled: the server and the browser still know */
    }
  }

  // ---- Operations ----------------------------------------------------------

  private async doLoad(): Promise<void> {
    const env = this.env
    if (!env || !env.supported()) {
      this.state.dispatch({ status: 'unsupported', error: null })
      return
    }
    const stored = this.readStored()
    this.state.dispatch({ status: 'checking' })
    let plan: ReconcilePlan
    let pm: PushManagerLike | null
    let sub: PushSubscriptionLike | null
    let key: string | null
    try {
      key = vapidKey(await this.api.capabilities())
      if (!key) {
        this.state.dispatch({ status: 'unavailable', error: null })
        return
      }
      const [pushers, manager] = await Promise.all([this.api.getPushers(), env.pushManager()])
      pm = manager
      if (!pm) {
        this.state.dispatch({ status: 'unsupported', error: null })
        return
      }
      sub = await pm.getSubscription()
      plan = reconcile({
        supported: true,
        permission: env.permission(),
        vapidKey: key,
        stored,
        subscription: subscriptionInfo(sub),
        pushers: Array.isArray(pushers.pushers) ? pushers.pushers : [],
      })
    } catch (e) {
      // Leave the choice as it is (checked again next time) and say why we don't know.
      this.state.dispatch({
        status: stored?.enabled ? 'on' : 'off',
        error: `Couldn't check push notifications: ${describeError(e)}`,
      })
      return
    }
    try {
      const info = await this.execute(plan.actions, pm, sub, key)
      this.writeStored(info ? { enabled: true, pushkey: info.p256dh } : plan.stored)
      this.state.dispatch({ status: plan.status, error: null })
    } catch (e) {
      // Remembered as planned (with the pushkey still to remove): tried again on the next start.
      this.writeStored(
        plan.stored && !plan.stored.enabled && stored?.pushkey ? { enabled: false, pushkey: stored.pushkey } : plan.stored,
      )
      const why = e instanceof PushError ? e.message : describeError(e)
      this.state.dispatch(
        plan.status === 'on'
          ? { status: 'off', error: `Push notifications couldn't be renewed on this device: ${why}` }
          : { status: plan.status, error: `Couldn't tidy up an old push subscription: ${why}` },
      )
    }
  }

  /** Runs a plan's actions; returns the subscription registered by it, if any. */
  private async execute(
    actions: PushAction[],
    pm: PushManagerLike,
    sub: PushSubscriptionLike | null,
    key: string,
  ): Promise<SubscriptionInfo | null> {
    let registered: SubscriptionInfo | null = null
    for (const action of actions) {
      switch (action.type) {
        case 'remove-pusher':
          await this.api.setPusher(removePusher(action.pushkey))
          break
        case 'unsubscribe':
          await sub?.unsubscribe().catch(() => false)
          sub = null
          break
        case 'register': {
          const info = subscriptionInfo(sub)
          if (!info) throw new PushError('The browser has no usable push subscription')
          await this.register(info)
          registered = info
          break
        }
        case 'subscribe':
          sub = await this.subscribe(pm, key)
          registered = subscriptionInfo(sub)
          if (!registered) throw new PushError('The browser made a push subscription without keys')
          await this.register(registered)
          break
      }
    }
    return registered
  }

  private async subscribe(pm: PushManagerLike, key: string): Promise<PushSubscriptionLike> {
    try {
      return await withTimeout(
        pm.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) }),
        this.subscribeTimeoutMs,
        PUSH_MESSAGES.timeout,
      )
    } catch (e) {
      if (e instanceof PushError) throw e
      throw new PushError(`The browser couldn't subscribe to push: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  private register(info: SubscriptionInfo): Promise<void> {
    const env = this.env
    return this.api.setPusher(
      webPushPusher(info, {
        deviceDisplayName: deviceDisplayName(env?.userAgent ?? ''),
        lang: (env?.language || 'en').slice(0, 20),
      }),
    )
  }

  private async doEnable(asked: Promise<NotificationPermission> | null): Promise<void> {
    const env = this.env as PushEnvironment
    const permission = asked ? await asked : env.permission()
    if (permission !== 'granted') {
      this.state.dispatch({
        status: permission === 'denied' ? 'denied' : 'off',
        error: permission === 'denied' ? PUSH_MESSAGES.denied : PUSH_MESSAGES.notAllowed,
      })
      return
    }
    let sub: PushSubscriptionLike | null = null
    let created = false
    try {
      const key = vapidKey(await this.api.capabilities())
      if (!key) {
        this.state.dispatch({ status: 'unavailable', error: PUSH_MESSAGES.unavailable })
        return
      }
      const pm = await env.pushManager()
      if (!pm) {
        this.state.dispatch({ status: 'unsupported', error: PUSH_MESSAGES.unsupported })
        return
      }
      sub = await pm.getSubscription()
      let info = subscriptionInfo(sub)
      if (sub && (!info || (info.serverKey !== null && info.serverKey !== key))) {
        // Made for another key (or unusable): replace it.
        await sub.unsubscribe().catch(() => false)
        sub = null
      }
      if (!sub) {
        sub = await this.subscribe(pm, key)
        created = true
        info = subscriptionInfo(sub)
      }
      if (!info) throw new PushError('The browser made a push subscription without keys')
      const old = this.readStored()?.pushkey
      await this.register(info)
      this.writeStored({ enabled: true, pushkey: info.p256dh })
      if (old && old !== info.p256dh) await this.api.setPusher(removePusher(old)).catch(() => undefined)
      this.state.dispatch({ status: 'on', error: null })
    } catch (e) {
      // Don't leave a subscription nobody pushes to.
      if (created) await sub?.unsubscribe().catch(() => false)
      this.state.dispatch({ status: 'off', error: enableError(e) })
    }
  }

  private async doDisable(): Promise<void> {
    const env = this.env as PushEnvironment
    const stored = this.readStored()
    let error: string | null = null
    try {
      const pm = await env.pushManager()
      const sub = await pm?.getSubscription()
      const info = subscriptionInfo(sub)
      const pushkeys = new Set([info?.p256dh, stored?.pushkey].filter((k): k is string => !!k))
      // The browser stops receiving first: even if the server can't be told now, nothing more arrives.
      await sub?.unsubscribe().catch(() => false)
      let left: string | undefined
      for (const pushkey of pushkeys) {
        try {
          await this.api.setPusher(removePusher(pushkey))
        } catch (e) {
          left = pushkey
          error = `Push is off on this device, but the server couldn't be told yet (${describeError(e)}). It will be retried.`
        }
      }
      // A pushkey the server still has is removed on the next start.
      this.writeStored(left ? { enabled: false, pushkey: left } : { enabled: false })
    } catch (e) {
      this.writeStored({ enabled: false, ...(stored?.pushkey ? { pushkey: stored.pushkey } : {}) })
      error = describeError(e)
    }
    this.state.dispatch({ status: 'off', error })
  }
}

function enableError(e: unknown): string {
  if (e instanceof PushError) return e.message
  return `Couldn't turn on push notifications: ${describeError(e)}`
}

/** The real browser. */
export function browserPushEnvironment(
  registration: () => Promise<ServiceWorkerRegistration | null>,
): PushEnvironment | null {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return null
  let storage: StorageLike | null = null
  try {
    storage = window.localStorage
  } catch {
    storage = null
  }
  return {
    supported: () =>
      window.isSecureContext &&
      'serviceWorker' in navigator &&
      typeof window.PushManager !== 'undefined' &&
      typeof window.Notification !== 'undefined',
    permission: () => (typeof Notification === 'undefined' ? 'denied' : Notification.permission),
    requestPermission: () => Notification.requestPermission(),
    async pushManager() {
      const reg = await registration()
      if (!reg) return null
      // subscribe() needs an active worker.
      const ready = await withTimeout(navigator.serviceWorker.ready, 10_000, 'The service worker did not start')
      return ready.pushManager as unknown as PushManagerLike
    },
    storage,
    userAgent: navigator.userAgent,
    language: navigator.language || 'en',
  }
}
