import { Marked } from 'marked'
import type { JsonObject } from '../api/types'

/**
 * What the composer sends: `body` is the plain text as typed; Markdown
 * (bold, italic, code, code blocks, links, lists, quotes) adds a
 * `formatted_body` in `org.matrix.custom.html`. HTML typed by the user is
 * text, never markup. Mentions picked from the member list become links to
 * the user (`https://matrix.to/#/@user:server`) and are listed in
 * `m.mentions` (intentional mentions); a reply mentions the replied-to
 * sender too.
 */

export interface Mention {
  userId: string
  /** The text inserted into the composer for them (their display name). */
  name: string
}

export interface ComposeOptions {
  /** The message replied to. */
  replyTo?: { eventId: string; sender: string }
  /** Members picked with @ (kept only when their name is still in the text). */
  mentions?: readonly Mention[]
  /** Me: never mentioned by a reply to my own message. */
  userId?: string
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])
}

const markdown = new Marked({ gfm: true, breaks: true, async: false })
markdown.use({
  renderer: {
    // Raw HTML in what was typed is shown as typed.
    html({ text }) {
      return escapeHtml(text)
    },
  },
})

/** The user id a matrix.to permalink names, if it names a user. */
export function permalinkUser(href: string): string | undefined {
  const m = /^https:\/\/matrix\.to\/#\/(@[^/?#]+)$/.exec(href)
  if (!m) return undefined
  try {
    return decodeURIComponent(m[1])
  } catch {
    return undefined
  }
}

export function userPermalink(userId: string): string {
  return `https://matrix.to/#/${encodeURIComponent(userId).replace(/%40/g, '@').replace(/%3A/g, ':')}`
}

/** Markdown to HTML; null when the text has no formatting at all (sent as plain text). */
export function markdownToHtml(text: string): string | null {
  const html = (markdown.parse(text) as string).trim()
  const single = /^<p>([\s\S]*)<\/p>$/.exec(html)
  if (single && !single[1].includes('<p>')) {
    const inner = single[1].replace(/<br>\n?/g, '\n')
    if (inner === escapeHtml(text.trim())) return null
    return single[1]
  }
  return html
}

/** Placeholders that no Markdown rule touches, one per mention. */
const placeholder = (i: number) => `MXMENTIONTOKEN${i}X`

/** The mentions whose inserted name is still in the text. */
export function mentionsIn(text: string, mentions: readonly Mention[]): Mention[] {
  const seen = new Set<string>()
  return mentions.filter((m) => {
    if (seen.has(m.userId) || !text.includes(m.name)) return false
    seen.add(m.userId)
    return true
  })
}

/** The content of a new `m.text` message. */
export function messageContent(text: string, opts: ComposeOptions = {}): JsonObject {
  const mentions = mentionsIn(text, opts.mentions ?? [])
  let marked = text
  mentions.forEach((m, i) => {
    marked = marked.replace(m.name, placeholder(i))
  })
  let html = markdownToHtml(marked)
  if (html === null && mentions.length > 0) html = escapeHtml(marked).replace(/\n/g, '<br>')
  const content: JsonObject = { msgtype: 'm.text', body: text }
  if (html !== null) {
    mentions.forEach((m, i) => {
      html = html!.replace(placeholder(i), `<a href="${escapeHtml(userPermalink(m.userId))}">${escapeHtml(m.name)}</a>`)
    })
    content.format = 'org.matrix.custom.html'
    content.formatted_body = html
  }
  const userIds = mentions.map((m) => m.userId)
  if (opts.replyTo && opts.replyTo.sender !== opts.userId && !userIds.includes(opts.replyTo.sender)) {
    userIds.push(opts.replyTo.sender)
  }
  // Only when someone is meant: without m.mentions, the server's name-based rules still apply.
  if (userIds.length > 0) content['m.mentions'] = { user_ids: userIds }
  if (opts.replyTo) content['m.relates_to'] = { 'm.in_reply_to': { event_id: opts.replyTo.eventId } }
  return content
}

/** An edit of `eventId` (`m.replace`): the new content in `m.new_content`, a "* " fallback body. */
export function editContent(eventId: string, text: string, opts: ComposeOptions = {}): JsonObject {
  const { 'm.relates_to': _ignored, ...newContent } = messageContent(text, { ...opts, replyTo: undefined })
  const content: JsonObject = {
    msgtype: 'm.text',
    body: `* ${text}`,
    'm.new_content': newContent,
    'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
  }
  if (typeof newContent.formatted_body === 'string') {
    content.format = 'org.matrix.custom.html'
    content.formatted_body = `* ${newContent.formatted_body}`
  }
  // Mentions of the edit itself are only the new ones (none here: the new content carries them).
  content['m.mentions'] = {}
  return content
}

/**
 * Text of a received body without the reply fallback some clients still
 * put in front of it ("> <@user> quoted" lines, then an empty line).
 */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body
  const lines = body.split('\n')
  let i = 0
  while (i < lines.length && lines[i].startsWith('> ')) i++
  if (i < lines.length && lines[i] === '') i++
  return lines.slice(i).join('\n')
}
