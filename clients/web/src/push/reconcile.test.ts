import { describe, expect, it } from 'vitest'
import type { Pusher } from '../api/types'
import { APP_ID, type SubscriptionInfo } from './pusher'
import { reconcile, type ReconcileInput } from './reconcile'

const KEY = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM'
const SUB: SubscriptionInfo = { endpoint: 'https://push.example/s1', p256dh: 'PK1', auth: 'AUTH1', serverKey: KEY }

function pusher(pushkey: string, url: string, auth = 'AUTH1', extra: Partial<Pusher> = {}): Pusher {
  return { kind: 'webpush', app_id: APP_ID, pushkey, app_display_name: 'Homeserver web', device_display_name: 'Chrome on Linux', lang: 'en', data: { url, auth }, ...extra }
}

function input(over: Partial<ReconcileInput> = {}): ReconcileInput {
  return { supported: true, permission: 'granted', vapidKey: KEY, stored: { enabled: true, pushkey: 'PK1' }, subscription: SUB, pushers: [pusher('PK1', SUB.endpoint)], ...over }
}

describe('reconcile Web Push on load', () => {
  it('all three agree: on, nothing to do', () => {
    expect(reconcile(input())).toEqual({ status: 'on', actions: [], stored: { enabled: true, pushkey: 'PK1' } })
  })

  it('off everywhere: off, nothing to do, nothing remembered', () => {
    expect(reconcile(input({ stored: null, subscription: null, pushers: [] }))).toEqual({ status: 'off', actions: [], stored: null })
  })

  it('unsupported browsers and servers without m.webpush keep the choice and touch nothing', () => {
    expect(reconcile(input({ supported: false }))).toMatchObject({ status: 'unsupported', actions: [], stored: { enabled: true, pushkey: 'PK1' } })
    expect(reconcile(input({ vapidKey: null }))).toMatchObject({ status: 'unavailable', actions: [], stored: { enabled: true, pushkey: 'PK1' } })
  })

  it('the server dropped the pusher (push service said 410): a new subscription', () => {
    expect(reconcile(input({ pushers: [] }))).toEqual({
      status: 'on',
      actions: [{ type: 'unsubscribe' }, { type: 'subscribe' }],
      stored: { enabled: true },
    })
  })

  it('the server has the pushkey with another endpoint: registered again', () => {
    expect(reconcile(input({ pushers: [pusher('PK1', 'https://push.example/old')] })).actions).toEqual([{ type: 'register' }])
  })

  it('the browser lost the subscription: subscribe again, and the old pushkey goes', () => {
    expect(reconcile(input({ subscription: null }))).toEqual({
      status: 'on',
      actions: [{ type: 'remove-pusher', pushkey: 'PK1' }, { type: 'subscribe' }],
      stored: { enabled: true },
    })
  })

  it("the server's VAPID key changed: unsubscribe, subscribe with the new key", () => {
    const plan = reconcile(input({ subscription: { ...SUB, serverKey: 'B' + 'A'.repeat(86) } }))
    expect(plan.status).toBe('on')
    expect(plan.actions).toEqual([{ type: 'remove-pusher', pushkey: 'PK1' }, { type: 'unsubscribe' }, { type: 'subscribe' }])
  })

  it('turned off here but the server still has the pusher (removal failed): removed now', () => {
    const plan = reconcile(input({ stored: { enabled: false, pushkey: 'PK1' }, subscription: null }))
    expect(plan).toEqual({ status: 'off', actions: [{ type: 'remove-pusher', pushkey: 'PK1' }], stored: { enabled: false } })
  })

  it('turned off, a leftover browser subscription is unsubscribed', () => {
    const plan = reconcile(input({ stored: { enabled: false }, pushers: [] }))
    expect(plan).toEqual({ status: 'off', actions: [{ type: 'unsubscribe' }], stored: { enabled: false } })
  })

  it('permission revoked in the browser: denied, pusher removed, unsubscribed', () => {
    const plan = reconcile(input({ permission: 'denied' }))
    expect(plan).toEqual({
      status: 'denied',
      actions: [{ type: 'remove-pusher', pushkey: 'PK1' }, { type: 'unsubscribe' }],
      stored: { enabled: false },
    })
    expect(reconcile(input({ permission: 'default' })).status).toBe('off')
  })

  it('nothing remembered (storage cleared): the server decides for this subscription', () => {
    expect(reconcile(input({ stored: null }))).toEqual({ status: 'on', actions: [], stored: { enabled: true, pushkey: 'PK1' } })
    expect(reconcile(input({ stored: null, pushers: [] }))).toEqual({ status: 'off', actions: [{ type: 'unsubscribe' }], stored: { enabled: false } })
  })

  it("never touches other devices' or other apps' pushers", () => {
    const others = [
      pusher('PK-OTHER-DEVICE', 'https://push.example/other'),
      pusher('PK1', SUB.endpoint, 'AUTH1', { app_id: 'im.other.app' }),
      pusher('gw-token', 'https://gw.example/_matrix/push/v1/notify', 'x', { kind: 'http' }),
    ]
    for (const stored of [{ enabled: true, pushkey: 'PK1' }, { enabled: false, pushkey: 'PK1' }, null]) {
      for (const subscription of [SUB, null]) {
        const plan = reconcile(input({ stored, subscription, pushers: [...others, pusher('PK1', SUB.endpoint)] }))
        for (const a of plan.actions) if (a.type === 'remove-pusher') expect(a.pushkey).toBe('PK1')
        const planWithout = reconcile(input({ stored, subscription, pushers: others }))
        expect(planWithout.actions.filter((a) => a.type === 'remove-pusher')).toEqual([])
      }
    }
  })

  it('another pushkey stored than the current subscription: the old one is removed, the current kept', () => {
    const plan = reconcile(input({ stored: { enabled: true, pushkey: 'PK0' }, pushers: [pusher('PK0', 'https://push.example/s0'), pusher('PK1', SUB.endpoint)] }))
    expect(plan).toEqual({ status: 'on', actions: [{ type: 'remove-pusher', pushkey: 'PK0' }], stored: { enabled: true, pushkey: 'PK1' } })
  })
})
