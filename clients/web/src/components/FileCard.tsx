import { useState } from 'react'
import { useController } from '../app/context'
import { describeError } from '../api/errors'
import type { JsonObject } from '../api/types'
import { downloadPath, formatBytes, mediaFileName, mediaInfo } from '../state/media'
import { FileIcon } from './icons'

const KIND: Record<string, string> = { 'm.video': 'Video', 'm.audio': 'Audio', 'm.file': 'File', 'm.image': 'Image' }

/**
 * A file message: its name, size and a download button. The download is
 * fetched with the access token and saved under the message's file name.
 */
export function FileCard({ content }: { content: JsonObject }) {
  const controller = useController()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const name = mediaFileName(content)
  const info = mediaInfo(content)
  const path = downloadPath(content.url, name)
  const kind = KIND[String(content.msgtype)] ?? 'File'
  const playable = content.msgtype === 'm.video' || content.msgtype === 'm.audio'
  const [playUrl, setPlayUrl] = useState<string | null>(null)

  // Authenticated media can't be streamed by <video src>: it is downloaded (with the token), then played.
  async function play() {
    if (!path) return
    setBusy(true)
    setError(null)
    try {
      setPlayUrl(await controller.media.url(path))
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  async function download() {
    if (!path) return
    setBusy(true)
    setError(null)
    try {
      const blob = await controller.media.blob(path)
      const url = URL.createObjectURL(blob)
      const a = document.createElement('a')
      a.href = url
      a.download = name
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  if (playUrl) {
    return content.msgtype === 'm.video' ? (
      <video src={playUrl} controls autoPlay aria-label={name} className="my-1 max-h-80 w-full max-w-sm rounded-lg bg-black" />
    ) : (
      <audio src={playUrl} controls autoPlay aria-label={name} className="my-1 w-full max-w-sm" />
    )
  }

  return (
    <div
      data-testid="file-card"
      className="my-1 flex w-full max-w-sm items-center gap-3 rounded-lg border border-gray-200 bg-gray-50 px-3 py-2 dark:border-gray-700 dark:bg-gray-800"
    >
      <FileIcon className="h-7 w-7 shrink-0 text-gray-600 dark:text-gray-300" />
      <div className="min-w-0 flex-1">
        <p className="truncate text-sm font-medium text-gray-900 dark:text-gray-100" title={name}>
          {name}
        </p>
        <p className="text-xs text-gray-600 dark:text-gray-300">
          {kind}
          {info.size !== undefined && ` · ${formatBytes(info.size)}`}
        </p>
        {error && (
          <p role="alert" className="text-xs text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
      </div>
      {path && playable && (
        <button
          type="button"
          onClick={play}
          disabled={busy}
          aria-label={`Play ${name}`}
          className="shrink-0 rounded-md border border-gray-300 bg-white px-2.5 py-1 text-sm font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:border-gray-600 dark:bg-gray-900 dark:text-gray-100 dark:hover:bg-gray-700"
        >
          Play
        </button>
      )}
      {path && (
        <button
          type="button"
          onClick={download}
          disabled={busy}
          aria-label={`Download ${name}`}
          className="shrink-0 rounded-md border border-gray-300 bg-white px-2.5 py-1 text-sm font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:border-gray-600 dark:bg-gray-900 dark:text-gray-100 dark:hover:bg-gray-700"
        >
          {busy ? 'Downloading…' : 'Download'}
        </button>
      )}
    </div>
  )
}
