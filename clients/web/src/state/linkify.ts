/**
 * Splits plain text into text and link segments. It produces data, never
 * markup: the caller renders segments as React text nodes and <a> elements,
 * so a message can never inject HTML.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

// http(s)://… or www.… up to whitespace or characters that never belong in a bare URL.
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi
const TRAILING = /[.,;:!?'"*_~]+$/

export function linkify(text: string): Segment[] {
  const out: Segment[] = []
  let last = 0
  const pushText = (t: string) => {
    if (!t) return
    const prev = out[out.length - 1]
    if (prev && prev.kind === 'text') out[out.length - 1] = { kind: 'text', text: prev.text + t }
    else out.push({ kind: 'text', text: t })
  }
  for (const m of text.matchAll(URL_RE)) {
    const start = m.index
    const url = trimUrl(m[0])
    const href = safeHref(url)
    if (!href) continue // left as plain text
    pushText(text.slice(last, start))
    out.push({ kind: 'link', text: url, href })
    last = start + url.length
  }
  pushText(text.slice(last))
  return out
}

/** Removes trailing punctuation and unbalanced closing brackets from a matched URL. */
function trimUrl(raw: string): string {
  let url = raw
  for (;;) {
    const before = url
    url = url.replace(TRAILING, '')
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']]) {
      if (url.endsWith(close) && count(url, close) > count(url, open)) url = url.slice(0, -1)
    }
    if (url === before) return url
  }
}

function count(s: string, ch: string): number {
  let n = 0
  for (const c of s) if (c === ch) n++
  return n
}

/** An absolute http(s) URL for a matched link, or null if it is not one. */
export function safeHref(text: string): string | null {
  const candidate = /^www\./i.test(text) ? `https://${text}` : text
  try {
    const u = new URL(candidate)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
    if (!u.hostname) return null
    return u.href
  } catch {
    return null
  }
}
