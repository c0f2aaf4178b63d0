import { linkify } from '../state/linkify'

/**
 * Renders message text as React text nodes; URLs become links that open in
 * a new tab. Never uses dangerouslySetInnerHTML.
 */
export function LinkifiedText({ text }: { text: string }) {
  const segments = linkify(text)
  return (
    <>
      {segments.map((s, i) =>
        s.kind === 'link' ? (
          <a
            key={i}
            href={s.href}
            target="_blank"
            rel="noopener noreferrer"
            className="text-indigo-700 underline decoration-1 underline-offset-2 break-all hover:text-indigo-900 dark:text-indigo-300 dark:hover:text-indigo-200"
          >
            {s.text}
          </a>
        ) : (
          s.text
        ),
      )}
    </>
  )
}
