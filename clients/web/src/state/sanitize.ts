import DOMPurify from 'dompurify'

/**
 * Received `org.matrix.custom.html` through a strict allow-list: the tags
 * and attributes the Matrix spec lists for `m.room.message` (less `img`,
 * whose `mxc://` sources this client does not load, and `font`/colours),
 * links only to http(s), mailto and matrix.to; no scripts, styles or event
 * handlers. The reply fallback (`<mx-reply>`) is dropped with its content.
 */
export const ALLOWED_TAGS = [
  'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i', 'u',
  'strong', 'em', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption', 'pre', 'span',
  'details', 'summary',
]
export const ALLOWED_ATTR = ['href', 'start', 'class', 'data-mx-spoiler']
const SAFE_URL = /^(?:https?:|mailto:)/i

let purifier: ReturnType<typeof DOMPurify> | null = null

function instance(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier
  const p = DOMPurify(window)
  p.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName === 'mx-reply') node.parentNode?.removeChild(node)
  })
  p.addHook('uponSanitizeAttribute', (node, data) => {
    const tag = node.nodeName.toLowerCase()
    if (data.attrName === 'href' && (tag !== 'a' || !SAFE_URL.test(data.attrValue.trim()))) data.keepAttr = false
    if (data.attrName === 'start' && tag !== 'ol') data.keepAttr = false
    // Only code's language class (for the spec's `language-*`).
    if (data.attrName === 'class' && !(tag === 'code' && /^language-[\w-]+$/.test(data.attrValue))) data.keepAttr = false
    if (data.attrName === 'data-mx-spoiler' && tag !== 'span') data.keepAttr = false
  })
  purifier = p
  return p
}

/** The sanitized HTML as a fragment (to turn into React elements, never innerHTML). */
export function sanitizeHtml(html: string): DocumentFragment {
  return instance().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOWED_URI_REGEXP: SAFE_URL,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment
}
