import type { JsonObject } from '../api/types'

/** The two halves of an `mxc://server/id` URI; null for anything else. */
export function parseMxc(uri: unknown): { server: string; mediaId: string } | null {
  if (typeof uri !== 'string') return null
  const m = /^mxc:\/\/([^/?#]+)\/([A-Za-z0-9_-]+)$/.exec(uri)
  return m ? { server: m[1], mediaId: m[2] } : null
}

const MEDIA = '/_matrix/client/v1/media'

/** The authenticated download path of an mxc URI (null when it is not one). */
export function downloadPath(uri: unknown, fileName?: string): string | null {
  const mxc = parseMxc(uri)
  if (!mxc) return null
  const base = `${MEDIA}/download/${encodeURIComponent(mxc.server)}/${encodeURIComponent(mxc.mediaId)}`
  return fileName ? `${base}/${encodeURIComponent(fileName)}` : base
}

/** The authenticated thumbnail path of an mxc URI (null when it is not one). */
export function thumbnailPath(uri: unknown, width: number, height: number, method: 'scale' | 'crop' = 'scale'): string | null {
  const mxc = parseMxc(uri)
  if (!mxc) return null
  const q = new URLSearchParams({ width: String(Math.round(width)), height: String(Math.round(height)), method })
  return `${MEDIA}/thumbnail/${encodeURIComponent(mxc.server)}/${encodeURIComponent(mxc.mediaId)}?${q}`
}

/** The types the server makes thumbnails of (others are shown from the original). */
const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp'])

export function canThumbnail(mimetype: string | undefined): boolean {
  return mimetype !== undefined && THUMBNAILABLE.has(mimetype.toLowerCase())
}

export type MediaMsgtype = 'm.image' | 'm.video' | 'm.audio' | 'm.file'

/** The message type a file is sent as, from its MIME type. */
export function msgtypeFor(mimetype: string): MediaMsgtype {
  const t = mimetype.toLowerCase()
  // SVG can carry script; it is offered as a file, never drawn inline.
  if (t.startsWith('image/') && t !== 'image/svg+xml') return 'm.image'
  if (t.startsWith('video/')) return 'm.video'
  if (t.startsWith('audio/')) return 'm.audio'
  return 'm.file'
}

export function isMediaMsgtype(msgtype: unknown): msgtype is MediaMsgtype {
  return msgtype === 'm.image' || msgtype === 'm.video' || msgtype === 'm.audio' || msgtype === 'm.file'
}

/** "1.4 MB", "512 B": sizes as people read them (powers of 1024, like file managers). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return ''
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`
}

/** The size an image of w x h is shown at, inside max x max, never enlarged. */
export function fitWithin(w: number, h: number, maxW: number, maxH: number): { width: number; height: number } {
  if (!(w > 0) || !(h > 0)) return { width: maxW, height: Math.round((maxW * 3) / 4) }
  const scale = Math.min(1, maxW / w, maxH / h)
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) }
}

/** Why a file can't be uploaded (null: it may). */
export function uploadRefusal(fileSize: number, limit: number | null): string | null {
  if (limit !== null && fileSize > limit) {
    const size = formatBytes(fileSize)
    const max = formatBytes(limit)
    // Rounded alike ("2 MB" and "2 MB"): saying both would read as a contradiction.
    if (size === max) return `This file is just over the server's limit of ${max}.`
    return `This file is ${size}; the server accepts files up to ${max}.`
  }
  return null
}

export interface UploadedFile {
  name: string
  mimetype: string
  size: number
  uri: string
  /** Pixel size of an image or video, when known. */
  width?: number
  height?: number
}

/** The `m.room.message` content of an uploaded file (m.image / m.video / m.audio / m.file). */
export function mediaContent(file: UploadedFile): JsonObject {
  const msgtype = msgtypeFor(file.mimetype)
  const info: JsonObject = { mimetype: file.mimetype, size: file.size }
  if ((msgtype === 'm.image' || msgtype === 'm.video') && file.width && file.height) {
    info.w = file.width
    info.h = file.height
  }
  return { msgtype, body: file.name, filename: file.name, url: file.uri, info }
}

/** What a media message's `info` says (each value only when of the right type). */
export function mediaInfo(content: JsonObject): { mimetype?: string; size?: number; w?: number; h?: number } {
  const info = content.info && typeof content.info === 'object' && !Array.isArray(content.info) ? (content.info as JsonObject) : {}
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined)
  return {
    mimetype: typeof info.mimetype === 'string' ? info.mimetype : undefined,
    size: num(info.size),
    w: num(info.w),
    h: num(info.h),
  }
}

/** The file name to save a media message as (`filename`, else `body`). */
export function mediaFileName(content: JsonObject): string {
  const name = typeof content.filename === 'string' && content.filename ? content.filename : content.body
  return typeof name === 'string' && name.trim() ? name.trim() : 'download'
}

/** A pasted image has a generic name ("image.png"): give it a dated one. */
export function pastedFileName(mimetype: string, now: Date): string {
  const ext = mimetype.split('/')[1]?.split('+')[0] || 'bin'
  const pad = (n: number) => String(n).padStart(2, '0')
  return `Pasted image ${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}.${ext}`
}
