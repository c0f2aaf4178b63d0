import type { CapabilitiesResponse, Pusher, PusherSetRequest } from '../api/types'
import { base64UrlToBytes, bytesToBase64Url } from './base64url'

/**
 * The `webpush` pusher (MSC4174, as the server documents it in README
 * "Notifications" and spec/openapi.yaml `/pushers/set`): the subscription's
 * p256dh key is the pushkey, its endpoint `data.url`, its auth secret
 * `data.auth`, all keys base64url.
 */

export const APP_ID = 'org.homeserver.web'
export const APP_DISPLAY_NAME = 'Homeserver web'

/** What the browser's PushSubscription tells us (keys already base64url). */
export interface SubscriptionInfo {
  endpoint: string
  /** The subscription's P-256 public key: the pusher's `pushkey`. */
  p256dh: string
  auth: string
  /** The applicationServerKey it was made with (base64url), when the browser says. */
  serverKey: string | null
}

/** The subset of PushSubscription this client uses. */
export interface PushSubscriptionLike {
  readonly endpoint: string
  readonly options?: { readonly applicationServerKey?: ArrayBuffer | null }
  getKey(name: 'p256dh' | 'auth'): ArrayBuffer | null
  unsubscribe(): Promise<boolean>
}

export function subscriptionInfo(sub: PushSubscriptionLike | null | undefined): SubscriptionInfo | null {
  if (!sub || typeof sub.endpoint !== 'string' || !sub.endpoint) return null
  const p256dh = sub.getKey('p256dh')
  const auth = sub.getKey('auth')
  if (!p256dh || !auth) return null
  const serverKey = sub.options?.applicationServerKey
  return {
    endpoint: sub.endpoint,
    p256dh: bytesToBase64Url(p256dh),
    auth: bytesToBase64Url(auth),
    serverKey: serverKey ? bytesToBase64Url(serverKey) : null,
  }
}

/**
 * The server's VAPID public key when it offers Web Push (`m.webpush` with
 * `enabled: true` and a usable key: an uncompressed P-256 point), else null.
 */
export function vapidKey(caps: CapabilitiesResponse | null | undefined): string | null {
  const webpush = caps?.capabilities?.['m.webpush']
  if (!webpush || typeof webpush !== 'object' || webpush.enabled !== true) return null
  const key = webpush.vapid
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]+$/.test(key)) return null
  try {
    const bytes = base64UrlToBytes(key)
    return bytes.length === 65 && bytes[0] === 4 ? key : null
  } catch {
    return null
  }
}

export interface DeviceInfo {
  deviceDisplayName: string
  lang: string
}

/** `POST /pushers/set` registering a subscription. */
export function webPushPusher(info: SubscriptionInfo, device: DeviceInfo): PusherSetRequest {
  return {
    kind: 'webpush',
    app_id: APP_ID,
    pushkey: info.p256dh,
    app_display_name: APP_DISPLAY_NAME,
    device_display_name: device.deviceDisplayName,
    lang: device.lang,
    data: { url: info.endpoint, auth: info.auth },
  }
}

/** `POST /pushers/set` deleting this client's pusher with `pushkey`. */
export function removePusher(pushkey: string): PusherSetRequest {
  return { kind: null, app_id: APP_ID, pushkey }
}

/** This client's Web Push pushers among the user's pushers (every device's). */
export function ownWebPushers(pushers: readonly Pusher[]): Pusher[] {
  return pushers.filter((p) => p && p.kind === 'webpush' && p.app_id === APP_ID && typeof p.pushkey === 'string')
}

/** Whether a listed pusher is the one for this subscription. */
export function pusherMatches(p: Pusher, info: SubscriptionInfo): boolean {
  return p.pushkey === info.p256dh && (p.data?.url ?? p.data?.endpoint) === info.endpoint && p.data?.auth === info.auth
}

/** "Chrome on Linux", "Firefox on Android"... for the pusher's device_display_name. */
export function deviceDisplayName(userAgent: string): string {
  const ua = userAgent || ''
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /(Chrome|Chromium|HeadlessChrome)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser'
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : ''
  return os ? `${browser} on ${os}` : browser
}
