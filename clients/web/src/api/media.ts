import type { MatrixClient } from './client'
import { MatrixError, NetworkError, isSoftLogout } from './errors'

export interface UploadOptions {
  onProgress?: (loaded: number, total: number) => void
  signal?: AbortSignal
}

/**
 * Uploads a file to the media repository (POST /_matrix/media/v3/upload)
 * and returns its mxc URI. XMLHttpRequest, not fetch: it reports upload
 * progress, and aborting it breaks the connection off, so the server stores
 * nothing. An abort rejects with the platform's AbortError.
 */
export async function uploadFile(client: MatrixClient, file: Blob, fileName: string, opts: UploadOptions = {}): Promise<string> {
  const token = await client.getAccessToken()
  try {
    return await uploadOnce(client.baseUrl, token, file, fileName, opts)
  } catch (e) {
    if (!token || !client.tokens || !isSoftLogout(e)) throw e
    return uploadOnce(client.baseUrl, await client.tokens.refreshAfter(token), file, fileName, opts)
  }
}

function uploadOnce(baseUrl: string, token: string | null, file: Blob, fileName: string, opts: UploadOptions): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new DOMException('The upload was cancelled', 'AbortError'))
      return
    }
    const xhr = new XMLHttpRequest()
    const url = `${baseUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(fileName)}`
    xhr.open('POST', url)
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
    const onAbort = () => xhr.abort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => opts.signal?.removeEventListener('abort', onAbort)
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size)
    xhr.onabort = () => {
      done()
      reject(new DOMException('The upload was cancelled', 'AbortError'))
    }
    xhr.onerror = () => {
      done()
      reject(new NetworkError("Can't reach the server"))
    }
    xhr.onload = () => {
      done()
      let data: Record<string, unknown> = {}
      try {
        data = JSON.parse(xhr.responseText) as Record<string, unknown>
      } catch {
        // Not JSON: judged by the status below.
      }
      if (xhr.status >= 200 && xhr.status < 300 && typeof data.content_uri === 'string') {
        resolve(data.content_uri)
        return
      }
      const errcode = typeof data.errcode === 'string' ? data.errcode : xhr.status === 413 ? 'M_TOO_LARGE' : 'M_UNKNOWN'
      const message = typeof data.error === 'string' ? data.error : `Upload failed (${xhr.status})`
      reject(new MatrixError(xhr.status, errcode, message, data))
    }
    xhr.send(file)
  })
}

/**
 * Downloads media with the access token (authenticated media, Matrix 1.11:
 * an <img src> can't send the Authorization header) and returns a Blob.
 */
export async function fetchMedia(client: MatrixClient, path: string, signal?: AbortSignal): Promise<Blob> {
  const get = async (token: string | null) => {
    let res: Response
    try {
      res = await fetch(client.baseUrl + path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal })
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e
      throw new NetworkError("Can't reach the server", { cause: e })
    }
    if (!res.ok) {
      const data = (await res.json().catch(() => ({}))) as Record<string, unknown>
      throw new MatrixError(
        res.status,
        typeof data.errcode === 'string' ? data.errcode : 'M_UNKNOWN',
        typeof data.error === 'string' ? data.error : `Download failed (${res.status})`,
        data,
      )
    }
    return res.blob()
  }
  const token = await client.getAccessToken()
  try {
    return await get(token)
  } catch (e) {
    if (!token || !client.tokens || !isSoftLogout(e)) throw e
    return get(await client.tokens.refreshAfter(token))
  }
}
