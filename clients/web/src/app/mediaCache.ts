import type { MatrixClient } from '../api/client'
import { fetchMedia } from '../api/media'

/** How many object URLs are kept alive (oldest revoked first). */
const MAX_ENTRIES = 200

/**
 * Authenticated media as object URLs: each path is downloaded once (with the
 * access token) and shared by every <img> showing it. A failed download is
 * forgotten so the next viewer tries again.
 */
export class MediaCache {
  private readonly entries = new Map<string, Promise<string>>()
  private readonly urls = new Map<string, string>()

  private readonly client: MatrixClient
  private readonly load: (client: MatrixClient, path: string) => Promise<Blob>
  private readonly toUrl: (blob: Blob) => string
  private readonly revoke: (url: string) => void

  constructor(
    client: MatrixClient,
    load: (client: MatrixClient, path: string) => Promise<Blob> = fetchMedia,
    toUrl: (blob: Blob) => string = (b) => URL.createObjectURL(b),
    revoke: (url: string) => void = (u) => URL.revokeObjectURL(u),
  ) {
    this.client = client
    this.load = load
    this.toUrl = toUrl
    this.revoke = revoke
  }

  /** The object URL at once when it is loaded already. */
  peek(path: string): string | undefined {
    return this.urls.get(path)
  }

  url(path: string): Promise<string> {
    const known = this.entries.get(path)
    if (known) {
      // Most recently used goes last (the eviction order).
      this.entries.delete(path)
      this.entries.set(path, known)
      return known
    }
    const p = this.load(this.client, path).then((blob) => {
      const url = this.toUrl(blob)
      if (this.entries.get(path) === p) this.urls.set(path, url)
      else this.revoke(url)
      return url
    })
    p.catch(() => {
      if (this.entries.get(path) === p) this.entries.delete(path)
    })
    this.entries.set(path, p)
    this.evict()
    return p
  }

  /** Downloads to a Blob (not kept: for saving files). */
  blob(path: string): Promise<Blob> {
    return this.load(this.client, path)
  }

  private evict(): void {
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
      const url = this.urls.get(oldest)
      if (url) this.revoke(url)
      this.urls.delete(oldest)
    }
  }

  clear(): void {
    for (const url of this.urls.values()) this.revoke(url)
    this.urls.clear()
    this.entries.clear()
  }
}
