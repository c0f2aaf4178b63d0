import { createElement, type ReactNode } from 'react'
import { permalinkUser } from '../state/compose'
import { ALLOWED_TAGS, sanitizeHtml } from '../state/sanitize'
import { LinkifiedText } from './MessageBody'

const TAGS = new Set(ALLOWED_TAGS)

const TAG_CLASSES: Record<string, string> = {
  blockquote: 'my-1 border-l-4 border-gray-300 pl-3 text-gray-700 dark:border-gray-600 dark:text-gray-300',
  pre: 'my-1 overflow-x-auto rounded-md bg-gray-100 p-2 font-mono text-sm whitespace-pre dark:bg-gray-800',
  code: 'rounded bg-gray-100 px-1 font-mono text-[0.85em] dark:bg-gray-800',
  ul: 'my-1 list-disc pl-6',
  ol: 'my-1 list-decimal pl-6',
  a: 'text-indigo-700 underline decoration-1 underline-offset-2 break-all hover:text-indigo-900 dark:text-indigo-300 dark:hover:text-indigo-200',
  p: 'my-0.5',
  h1: 'text-lg font-bold',
  h2: 'text-base font-bold',
  h3: 'font-semibold',
  table: 'my-1 border-collapse text-sm',
  th: 'border border-gray-300 px-2 dark:border-gray-600',
  td: 'border border-gray-300 px-2 dark:border-gray-600',
}

export interface MentionRender {
  /** Shows a user id as a name (a pill). */
  nameOf: (userId: string) => string
  me: string
}

/**
 * Received HTML, sanitized (state/sanitize.ts), rebuilt as React elements
 * from the allow-list only: nothing reaches innerHTML. Links to a user
 * (matrix.to) become mention pills; mine is highlighted.
 */
export function FormattedBody({ html, mentions }: { html: string; mentions: MentionRender }) {
  const fragment = sanitizeHtml(html)
  return <>{toReact(fragment.childNodes, mentions, 'h')}</>
}

function toReact(nodes: NodeListOf<ChildNode>, mentions: MentionRender, prefix: string): ReactNode[] {
  const out: ReactNode[] = []
  nodes.forEach((node, i) => {
    const key = `${prefix}.${i}`
    if (node.nodeType === Node.TEXT_NODE) {
      out.push(<LinkifiedText key={key} text={node.textContent ?? ''} />)
      return
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return
    const el = node as Element
    const tag = el.tagName.toLowerCase()
    if (!TAGS.has(tag)) {
      out.push(...toReact(el.childNodes, mentions, key))
      return
    }
    if (tag === 'a') {
      const href = el.getAttribute('href') ?? ''
      const user = permalinkUser(href)
      if (user) {
        const mine = user === mentions.me
        out.push(
          <span
            key={key}
            data-mention={user}
            title={user}
            className={`rounded-full px-1.5 font-medium ${
              mine ? 'bg-amber-200 text-amber-950 dark:bg-amber-700 dark:text-amber-50' : 'bg-indigo-100 text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100'
            }`}
          >
            {el.textContent || mentions.nameOf(user)}
          </span>,
        )
        return
      }
      if (!href) {
        out.push(...toReact(el.childNodes, mentions, key))
        return
      }
      out.push(
        <a key={key} href={href} target="_blank" rel="noopener noreferrer" className={TAG_CLASSES.a}>
          {el.textContent}
        </a>,
      )
      return
    }
    const props: Record<string, unknown> = { key, className: TAG_CLASSES[tag] }
    if (tag === 'ol' && el.getAttribute('start')) props.start = Number(el.getAttribute('start')) || undefined
    if (tag === 'code' && el.parentElement?.tagName.toLowerCase() === 'pre') props.className = 'font-mono'
    if (tag === 'br' || tag === 'hr') {
      out.push(createElement(tag, props))
      return
    }
    out.push(createElement(tag, props, ...toReact(el.childNodes, mentions, key)))
  })
  return out
}
