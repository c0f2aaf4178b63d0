import type { Pusher } from '../api/types'
import { ownWebPushers, pusherMatches, type SubscriptionInfo } from './pusher'

/**
 * Whether this device gets Web Push, worked out on load from three sources
 * that can disagree:
 *   - what the user chose on this device (localStorage, per user);
 *   - the browser's push subscription (`pushManager.getSubscription()`);
 *   - the server's pushers (`GET /pushers`; a push service answering 404/410,
 *     or another client, may have removed ours).
 * `reconcile` is pure: it says what the state is and what to do to make the
 * three agree again. Only this device's pushers are ever touched (matched by
 * pushkey), never other devices'.
 */

/** What is remembered on this device. */
export interface StoredPush {
  /** The user turned push on here (and has not turned it off). */
  enabled: boolean
  /** The pushkey last registered from here (to remove it even if the browser lost the subscription). */
  pushkey?: string
}

export type PushStatus =
  /** Still finding out. */
  | 'checking'
  /** No service worker / Push API / notifications in this browser (or not a secure context). */
  | 'unsupported'
  /** The server does not offer Web Push (no `m.webpush` capability). */
  | 'unavailable'
  /** Notifications are blocked for this site. */
  | 'denied'
  | 'off'
  | 'on'
  | 'enabling'
  | 'disabling'

export interface ReconcileInput {
  supported: boolean
  permission: NotificationPermission
  /** The server's VAPID key; null when it has no `m.webpush`. */
  vapidKey: string | null
  stored: StoredPush | null
  subscription: SubscriptionInfo | null
  pushers: readonly Pusher[]
}

export type PushAction =
  /** `POST /pushers/set` with `kind: null` for this pushkey. */
  | { type: 'remove-pusher'; pushkey: string }
  /** `subscription.unsubscribe()`. */
  | { type: 'unsubscribe' }
  /** Register the current subscription as a pusher. */
  | { type: 'register' }
  /** `pushManager.subscribe()` with the server's key, then register it. */
  | { type: 'subscribe' }

export interface ReconcilePlan {
  /** The state once the actions are done. */
  status: 'unsupported' | 'unavailable' | 'denied' | 'off' | 'on'
  /** In order. */
  actions: PushAction[]
  /** What to remember (null: nothing to remember). */
  stored: StoredPush | null
}

export function reconcile(input: ReconcileInput): ReconcilePlan {
  const { supported, permission, vapidKey, stored, subscription } = input
  if (!supported) return { status: 'unsupported', actions: [], stored }
  // Without the server's key nothing can be checked or fixed; keep the choice for later.
  if (!vapidKey) return { status: 'unavailable', actions: [], stored }

  const own = ownWebPushers(input.pushers)
  const current = subscription ? own.find((p) => pusherMatches(p, subscription)) : undefined
  // Our old pushkey still on the server, other than the current subscription's.
  const stale = own.filter(
    (p) => p.pushkey === stored?.pushkey && (!subscription || p.pushkey !== subscription.p256dh),
  )
  const removeStale: PushAction[] = stale.map((p) => ({ type: 'remove-pusher', pushkey: p.pushkey }))
  // Nothing remembered (storage cleared): whatever the server has for this subscription decides.
  const wanted = stored ? stored.enabled : current !== undefined

  if (!wanted || permission !== 'granted') {
    const actions = [...removeStale]
    // A pusher for this browser's subscription (whoever set it up for this user) goes too.
    const mine = subscription ? own.filter((p) => p.pushkey === subscription.p256dh) : []
    for (const p of mine) actions.push({ type: 'remove-pusher', pushkey: p.pushkey })
    if (subscription) actions.push({ type: 'unsubscribe' })
    return {
      status: permission === 'denied' ? 'denied' : 'off',
      actions,
      stored: stored || subscription ? { enabled: false } : null,
    }
  }

  if (subscription && subscription.serverKey !== null && subscription.serverKey !== vapidKey) {
    // Made with another server key (the server's key changed): pushes signed with
    // the new key would be refused. Start over.
    const actions: PushAction[] = [...removeStale]
    if (own.some((p) => p.pushkey === subscription.p256dh)) actions.push({ type: 'remove-pusher', pushkey: subscription.p256dh })
    actions.push({ type: 'unsubscribe' }, { type: 'subscribe' })
    return { status: 'on', actions, stored: { enabled: true } }
  }
  if (subscription && current) {
    return { status: 'on', actions: removeStale, stored: { enabled: true, pushkey: subscription.p256dh } }
  }
  if (subscription && own.some((p) => p.pushkey === subscription.p256dh)) {
    // The server has this pushkey with other data (endpoint or auth): register it again.
    return { status: 'on', actions: [...removeStale, { type: 'register' }], stored: { enabled: true, pushkey: subscription.p256dh } }
  }
  if (subscription) {
    // The server dropped the pusher, most likely because the push service said the
    // subscription is gone (404/410): a new subscription, not the same one again.
    return {
      status: 'on',
      actions: [...removeStale, { type: 'unsubscribe' }, { type: 'subscribe' }],
      stored: { enabled: true },
    }
  }
  // The browser dropped the subscription: make a new one.
  return { status: 'on', actions: [...removeStale, { type: 'subscribe' }], stored: { enabled: true } }
}
