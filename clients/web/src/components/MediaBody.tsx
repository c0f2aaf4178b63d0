import type { JsonObject } from '../api/types'
import { parseMxc } from '../state/media'
import { FileCard } from './FileCard'
import { MediaImage } from './MediaImage'

/**
 * The body of an m.image / m.video / m.audio / m.file message. Without a
 * usable `url` (e.g. an encrypted file) only its name is shown.
 */
export function MediaBody({ content }: { content: JsonObject }) {
  if (!parseMxc(content.url)) {
    return <span className="text-gray-600 italic dark:text-gray-300">{String(content.body ?? 'Attachment')}</span>
  }
  if (content.msgtype === 'm.image') {
    const mimetype = (content.info as JsonObject | undefined)?.mimetype
    // SVG is never drawn inline (it can carry script): offered as a file.
    if (mimetype !== 'image/svg+xml') return <MediaImage content={content} />
  }
  return <FileCard content={content} />
}
