import { describe, expect, it } from 'vitest'
import {
  canThumbnail,
  downloadPath,
  fitWithin,
  formatBytes,
  mediaContent,
  mediaFileName,
  mediaInfo,
  msgtypeFor,
  parseMxc,
  pastedFileName,
  thumbnailPath,
  uploadRefusal,
} from './media'

describe('mxc URIs', () => {
  it('splits server and media id, refusing anything else', () => {
    expect(parseMxc('mxc://hs.test/AbC_9-z')).toEqual({ server: 'hs.test', mediaId: 'AbC_9-z' })
    expect(parseMxc('mxc://hs.test:8448/abc')).toEqual({ server: 'hs.test:8448', mediaId: 'abc' })
    for (const bad of ['https://hs.test/abc', 'mxc://hs.test/', 'mxc://hs.test/a/b', 'mxc://hs.test/../x', 'mxc:///abc', 42, undefined]) {
      expect(parseMxc(bad)).toBeNull()
    }
  })

  it('builds the authenticated download and thumbnail paths', () => {
    expect(downloadPath('mxc://hs.test/abc')).toBe('/_matrix/client/v1/media/download/hs.test/abc')
    expect(downloadPath('mxc://hs.test/abc', 'my report #1.pdf')).toBe(
      '/_matrix/client/v1/media/download/hs.test/abc/my%20report%20%231.pdf',
    )
    expect(thumbnailPath('mxc://hs.test/abc', 640, 480.4)).toBe(
      '/_matrix/client/v1/media/thumbnail/hs.test/abc?width=640&height=480&method=scale',
    )
    expect(thumbnailPath('mxc://hs.test/abc', 96, 96, 'crop')).toContain('method=crop')
    expect(downloadPath('javascript:alert(1)')).toBeNull()
    expect(thumbnailPath(undefined, 1, 1)).toBeNull()
  })
})

describe('message types', () => {
  it('follows the MIME type; SVG is a file', () => {
    expect(msgtypeFor('image/png')).toBe('m.image')
    expect(msgtypeFor('IMAGE/JPEG')).toBe('m.image')
    expect(msgtypeFor('image/svg+xml')).toBe('m.file')
    expect(msgtypeFor('video/mp4')).toBe('m.video')
    expect(msgtypeFor('audio/ogg')).toBe('m.audio')
    expect(msgtypeFor('application/pdf')).toBe('m.file')
    expect(msgtypeFor('')).toBe('m.file')
  })

  it('thumbnails only what the server can scale', () => {
    expect(canThumbnail('image/png')).toBe(true)
    expect(canThumbnail('image/webp')).toBe(true)
    expect(canThumbnail('image/svg+xml')).toBe(false)
    expect(canThumbnail(undefined)).toBe(false)
  })

  it('makes the spec content of an upload, w/h only for images and videos', () => {
    expect(mediaContent({ name: 'cat.png', mimetype: 'image/png', size: 1234, uri: 'mxc://hs/a', width: 800, height: 600 })).toEqual({
      msgtype: 'm.image',
      body: 'cat.png',
      filename: 'cat.png',
      url: 'mxc://hs/a',
      info: { mimetype: 'image/png', size: 1234, w: 800, h: 600 },
    })
    expect(mediaContent({ name: 'a.pdf', mimetype: 'application/pdf', size: 5, uri: 'mxc://hs/b', width: 1, height: 1 }).info).toEqual({
      mimetype: 'application/pdf',
      size: 5,
    })
  })
})

describe('what a received message says', () => {
  it('keeps only well-typed info values', () => {
    expect(mediaInfo({ info: { mimetype: 'image/png', size: 10, w: 20, h: 30 } })).toEqual({ mimetype: 'image/png', size: 10, w: 20, h: 30 })
    expect(mediaInfo({ info: { mimetype: 5, size: '10', w: -1, h: Infinity } })).toEqual({})
    expect(mediaInfo({ info: ['x'] })).toEqual({})
    expect(mediaInfo({})).toEqual({})
  })

  it('saves under filename, else body, else "download"', () => {
    expect(mediaFileName({ filename: 'real.pdf', body: 'a caption' })).toBe('real.pdf')
    expect(mediaFileName({ body: ' notes.txt ' })).toBe('notes.txt')
    expect(mediaFileName({ body: '' })).toBe('download')
  })
})

describe('sizes', () => {
  it('formats bytes as people read them', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB')
    expect(formatBytes(-1)).toBe('')
  })

  it('fits an image in its box without enlarging it, and reserves a box when the size is unknown', () => {
    expect(fitWithin(1600, 1200, 320, 240)).toEqual({ width: 320, height: 240 })
    expect(fitWithin(1000, 4000, 320, 240)).toEqual({ width: 60, height: 240 })
    expect(fitWithin(100, 50, 320, 240)).toEqual({ width: 100, height: 50 })
    expect(fitWithin(0, 0, 320, 240)).toEqual({ width: 320, height: 240 })
  })

  it('refuses a file over the server limit before it is sent', () => {
    expect(uploadRefusal(10, 10)).toBeNull()
    expect(uploadRefusal(11, null)).toBeNull()
    expect(uploadRefusal(2 * 1024 * 1024, 1024 * 1024)).toBe('This file is 2 MB; the server accepts files up to 1 MB.')
    expect(uploadRefusal(1024 * 1024 + 1, 1024 * 1024)).toBe("This file is just over the server's limit of 1 MB.")
  })

  it('names a pasted image by when it was pasted', () => {
    expect(pastedFileName('image/png', new Date(2026, 0, 2, 3, 4, 5))).toBe('Pasted image 2026-01-02 03.04.05.png')
    expect(pastedFileName('image/svg+xml', new Date(2026, 0, 2, 3, 4, 5))).toMatch(/\.svg$/)
  })
})
