import { useState } from 'react'
import type { JsonObject } from '../api/types'
import { canThumbnail, downloadPath, fitWithin, mediaFileName, mediaInfo, thumbnailPath } from '../state/media'
import { Modal } from './Modal'
import { Spinner } from './ui'
import { useMediaUrl } from './useMedia'

/** Largest inline size (CSS px); the thumbnail asked for is twice that for sharp screens. */
const MAX_W = 320
const MAX_H = 240

/**
 * An image message: a server thumbnail in a box of the image's own
 * proportions (from `info.w`/`info.h`, so the timeline does not jump when
 * it arrives); clicking it opens the full image in a viewer.
 */
export function MediaImage({ content }: { content: JsonObject }) {
  const [open, setOpen] = useState(false)
  const info = mediaInfo(content)
  const name = mediaFileName(content)
  const box = fitWithin(info.w ?? 0, info.h ?? 0, MAX_W, MAX_H)
  const path = canThumbnail(info.mimetype)
    ? thumbnailPath(content.url, MAX_W * 2, MAX_H * 2, 'scale')
    : downloadPath(content.url)
  const { url, failed } = useMediaUrl(path)
  return (
    <>
      <button
        type="button"
        onClick={() => setOpen(true)}
        aria-label={`Open image ${name}`}
        data-testid="media-image"
        className="my-1 block max-w-full overflow-hidden rounded-lg border border-gray-200 bg-gray-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:border-gray-700 dark:bg-gray-800"
        style={{ width: box.width, aspectRatio: `${box.width} / ${box.height}` }}
      >
        {url ? (
          <img
            src={url}
            alt={name}
            width={box.width}
            height={box.height}
            // Without its size in the message, the picture is fitted whole into the reserved box.
            className={`h-full w-full ${info.w && info.h ? 'object-cover' : 'object-contain'}`}
          />
        ) : (
          <span className="flex h-full w-full items-center justify-center p-2 text-xs text-gray-600 dark:text-gray-300">
            {failed ? `Couldn't load ${name}` : <span aria-hidden="true" className="h-4 w-4 animate-spin rounded-full border-2 border-gray-300 border-t-indigo-600" />}
          </span>
        )}
      </button>
      {open && <ImageViewer content={content} name={name} onClose={() => setOpen(false)} />}
    </>
  )
}

/** The full-size image in a dialog (Escape or Close ends it; the focus goes back to the thumbnail). */
function ImageViewer({ content, name, onClose }: { content: JsonObject; name: string; onClose: () => void }) {
  const { url, failed } = useMediaUrl(downloadPath(content.url))
  const info = mediaInfo(content)
  return (
    <Modal title={name} onClose={onClose} wide>
      <div className="flex max-h-[75vh] min-h-40 items-center justify-center" data-testid="image-viewer">
        {url ? (
          <img
            src={url}
            alt={name}
            width={info.w}
            height={info.h}
            className="h-auto max-h-[75vh] w-auto max-w-full object-contain"
          />
        ) : failed ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            Couldn't load the image.
          </p>
        ) : (
          <Spinner label="Loading image…" />
        )}
      </div>
      {url && (
        <div className="mt-3 flex justify-end">
          <a
            href={url}
            download={name}
            className="rounded-lg border border-gray-300 px-3 py-1.5 text-sm font-medium text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-gray-600 dark:text-gray-100 dark:hover:bg-gray-800"
          >
            Download
          </a>
        </div>
      )}
    </Modal>
  )
}
