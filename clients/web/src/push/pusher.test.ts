import { describe, expect, it } from 'vitest'
import { bytesToBase64Url } from './base64url'
import {
  APP_ID,
  deviceDisplayName,
  ownWebPushers,
  pusherMatches,
  removePusher,
  subscriptionInfo,
  vapidKey,
  webPushPusher,
  type PushSubscriptionLike,
} from './pusher'

const VAPID = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM'

function fakeSubscription(endpoint: string, p256dh: Uint8Array, auth: Uint8Array, serverKey?: Uint8Array): PushSubscriptionLike {
  return {
    endpoint,
    options: { applicationServerKey: serverKey ? serverKey.slice().buffer : null },
    getKey: (name) => (name === 'p256dh' ? p256dh.slice().buffer : auth.slice().buffer),
    unsubscribe: async () => true,
  }
}

const P256DH = new Uint8Array(65).map((_, i) => (i === 0 ? 4 : i))
const AUTH = new Uint8Array(16).map((_, i) => 200 + i)

describe('webpush pusher', () => {
  it('reads a subscription into base64url keys', () => {
    const info = subscriptionInfo(fakeSubscription('https://push.example/abc', P256DH, AUTH))
    expect(info).toEqual({
      endpoint: 'https://push.example/abc',
      p256dh: bytesToBase64Url(P256DH),
      auth: bytesToBase64Url(AUTH),
      serverKey: null,
    })
    expect(info?.p256dh).not.toMatch(/[+/=]/)
    expect(subscriptionInfo(null)).toBeNull()
    expect(subscriptionInfo({ ...fakeSubscription('https://p/x', P256DH, AUTH), getKey: () => null })).toBeNull()
  })

  it('is the MSC4174 body the server documents', () => {
    const info = subscriptionInfo(fakeSubscription('https://push.example/abc', P256DH, AUTH))!
    expect(webPushPusher(info, { deviceDisplayName: 'Firefox on Linux', lang: 'en-GB' })).toEqual({
      kind: 'webpush',
      app_id: APP_ID,
      pushkey: info.p256dh,
      app_display_name: 'Homeserver web',
      device_display_name: 'Firefox on Linux',
      lang: 'en-GB',
      data: { url: 'https://push.example/abc', auth: info.auth },
    })
    expect(removePusher(info.p256dh)).toEqual({ kind: null, app_id: APP_ID, pushkey: info.p256dh })
    expect(APP_ID.length).toBeLessThanOrEqual(64)
  })

  it('finds its own pushers and matches them to a subscription', () => {
    const info = subscriptionInfo(fakeSubscription('https://push.example/abc', P256DH, AUTH))!
    const mine = { kind: 'webpush', app_id: APP_ID, pushkey: info.p256dh, app_display_name: '', device_display_name: '', lang: 'en', data: { url: info.endpoint, auth: info.auth } }
    const gateway = { ...mine, kind: 'http', pushkey: 'tok', data: { url: 'https://gw/_matrix/push/v1/notify' } }
    const otherApp = { ...mine, app_id: 'im.other.web' }
    expect(ownWebPushers([mine, gateway, otherApp])).toEqual([mine])
    expect(pusherMatches(mine, info)).toBe(true)
    expect(pusherMatches({ ...mine, data: { endpoint: info.endpoint, auth: info.auth } }, info)).toBe(true)
    expect(pusherMatches({ ...mine, data: { url: 'https://push.example/other', auth: info.auth } }, info)).toBe(false)
  })

  it('takes the VAPID key only from an enabled m.webpush capability', () => {
    expect(vapidKey({ capabilities: { 'm.webpush': { enabled: true, vapid: VAPID } } })).toBe(VAPID)
    expect(vapidKey({ capabilities: { 'm.webpush': { enabled: false, vapid: VAPID } } })).toBeNull()
    expect(vapidKey({ capabilities: {} })).toBeNull()
    expect(vapidKey({ capabilities: { 'm.webpush': { enabled: true } } })).toBeNull()
    expect(vapidKey({ capabilities: { 'm.webpush': { enabled: true, vapid: 'AQID' } } })).toBeNull()
    expect(vapidKey({ capabilities: { 'm.webpush': { enabled: true, vapid: VAPID + '==' } } })).toBeNull()
    expect(vapidKey(null)).toBeNull()
  })

  it('names the device after the browser and system', () => {
    expect(deviceDisplayName('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('Firefox on Linux')
    expect(deviceDisplayName('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36')).toBe(
      'Chrome on Linux',
    )
    expect(deviceDisplayName('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1')).toBe(
      'Safari on iOS',
    )
    expect(deviceDisplayName('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36')).toBe(
      'Chrome on Android',
    )
    expect(deviceDisplayName('')).toBe('Browser')
  })
})
