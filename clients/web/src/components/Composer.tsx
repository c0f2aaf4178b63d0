import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type Ref } from 'react'
import type { Mention } from '../state/compose'
import { matchMembers, mentionQuery, type MemberOption } from '../state/mentions'
import { PaperclipIcon } from './icons'

export interface ComposerContext {
  /** Replying to: who and what (shown above the box). */
  replyingTo?: { name: string; snippet: string } | null
  /** Editing one of my messages: its id and current text. */
  editing?: { eventId: string; text: string } | null
}

/**
 * Message box: Enter sends, Shift+Enter inserts a newline, Markdown is
 * formatted on send. Typing `@` offers the room's members (arrows, Enter or
 * Tab to pick). Escape ends a reply or an edit; Up in an empty box edits my
 * last message. Typing is reported through `onInput` / `onStop`.
 */
export function Composer({
  roomName,
  members = [],
  onSend,
  onInput,
  onStop,
  replyingTo,
  editing,
  onCancel,
  onEditLast,
  onFiles,
  ref,
}: ComposerContext & {
  roomName: string
  members?: readonly MemberOption[]
  /** Throws (e.g. MessageTooLargeError) to refuse: the text stays and the reason is shown. */
  onSend: (text: string, mentions: Mention[]) => void
  /** The text changed (for typing notifications). */
  onInput?: (text: string) => void
  /** The box lost focus: no longer typing. */
  onStop?: () => void
  /** Ends the reply or the edit. */
  onCancel?: () => void
  onEditLast?: () => void
  /** Files picked with the attach button or pasted (`pasted`: from the clipboard). */
  onFiles?: (files: File[], pasted: boolean) => void
  ref?: Ref<HTMLTextAreaElement>
}) {
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [mentions, setMentions] = useState<Mention[]>([])
  const [caret, setCaret] = useState(0)
  const [active, setActive] = useState(0)
  const [suggestDismissed, setSuggestDismissed] = useState(false)
  const box = useRef<HTMLTextAreaElement | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const pendingCaret = useRef<number | null>(null)
  const id = useId()
  const editingId = editing?.eventId

  // Starting an edit puts the message's text in the box.
  useEffect(() => {
    if (!editingId) return
    setText(editing?.text ?? '')
    setError(null)
    requestAnimationFrame(() => {
      const el = box.current
      if (!el) return
      el.focus()
      el.setSelectionRange(el.value.length, el.value.length)
    })
    // Only when a new edit starts.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editingId])

  useEffect(() => {
    if (replyingTo) box.current?.focus()
  }, [replyingTo])

  const query = suggestDismissed ? null : mentionQuery(text, caret)
  const suggestions = query ? matchMembers(members, query.query) : []
  const listId = `${id}-mentions`

  function send() {
    if (!text.trim()) return
    try {
      onSend(text, mentions)
    } catch (e) {
      // Refused before sending (e.g. over the size limit): the text stays to be shortened.
      setError(e instanceof Error ? e.message : String(e))
      return
    }
    setError(null)
    setText('')
    setMentions([])
  }

  function pick(member: MemberOption) {
    if (!query) return
    const before = text.slice(0, query.start)
    const after = text.slice(caret)
    const next = `${before}${member.name} ${after}`
    const pos = before.length + member.name.length + 1
    setText(next)
    setMentions((m) => [...m.filter((x) => x.userId !== member.userId), { userId: member.userId, name: member.name }])
    setCaret(pos)
    pendingCaret.current = pos
    onInput?.(next)
  }

  // After a pick, the caret goes behind the inserted name before the next key is handled.
  useLayoutEffect(() => {
    if (pendingCaret.current === null) return
    box.current?.setSelectionRange(pendingCaret.current, pendingCaret.current)
    pendingCaret.current = null
  })

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (suggestions.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length)
        return
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault()
        pick(suggestions[Math.min(active, suggestions.length - 1)])
        return
      }
      if (e.key === 'Escape') {
        e.preventDefault()
        setSuggestDismissed(true)
        return
      }
    }
    if (e.key === 'Escape' && (replyingTo || editing)) {
      e.preventDefault()
      if (editing) setText('')
      onCancel?.()
      return
    }
    if (e.key === 'ArrowUp' && !text && onEditLast) {
      e.preventDefault()
      onEditLast()
      return
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      send()
    }
  }

  const rows = Math.min(6, Math.max(1, text.split('\n').length))
  const banner = editing ? 'Editing message' : replyingTo ? `Replying to ${replyingTo.name}` : null
  return (
    <form
      aria-label="Send a message"
      className="relative flex flex-wrap items-end gap-2 border-t border-gray-200 bg-white p-3 dark:border-gray-800 dark:bg-gray-900"
      onSubmit={(e) => {
        e.preventDefault()
        send()
      }}
    >
      {banner && (
        <div className="flex basis-full items-center gap-2 text-xs text-gray-700 dark:text-gray-300" data-testid="composer-context">
          <span className="min-w-0 flex-1 truncate">
            <span className="font-semibold">{banner}</span>
            {replyingTo && !editing && <span className="ml-1 text-gray-600 dark:text-gray-400">{replyingTo.snippet}</span>}
          </span>
          <button
            type="button"
            onClick={() => {
              if (editing) setText('')
              onCancel?.()
              box.current?.focus()
            }}
            className="rounded px-1.5 py-0.5 underline hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-gray-800"
          >
            {editing ? 'Cancel edit' : 'Cancel reply'}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" data-testid="composer-error" className="basis-full text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
      {suggestions.length > 0 && (
        <ul
          id={listId}
          role="listbox"
          aria-label="Mention someone"
          className="absolute bottom-full left-3 z-20 mb-1 w-64 max-w-[calc(100%-1.5rem)] rounded-lg border border-gray-200 bg-white py-1 shadow-lg dark:border-gray-700 dark:bg-gray-900"
        >
          {suggestions.map((m, i) => (
            <li
              key={m.userId}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === Math.min(active, suggestions.length - 1)}
              onMouseDown={(e) => {
                e.preventDefault()
                pick(m)
              }}
              className="cursor-pointer truncate px-3 py-1.5 text-sm text-gray-900 aria-selected:bg-indigo-50 dark:text-gray-100 dark:aria-selected:bg-indigo-950"
            >
              <span className="font-medium">{m.name}</span> <span className="text-xs text-gray-600 dark:text-gray-400">{m.userId}</span>
            </li>
          ))}
        </ul>
      )}
      {onFiles && (
        <>
          <input
            ref={fileInput}
            type="file"
            multiple
            hidden
            data-testid="attach-input"
            onChange={(e) => {
              const files = Array.from(e.target.files ?? [])
              e.target.value = ''
              if (files.length > 0) onFiles(files, false)
            }}
          />
          <button
            type="button"
            onClick={() => fileInput.current?.click()}
            aria-label="Attach files"
            title="Attach files"
            className="h-10 shrink-0 rounded-xl px-2 text-gray-700 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-200 dark:hover:bg-gray-800"
          >
            <PaperclipIcon />
          </button>
        </>
      )}
      <label htmlFor={id} className="sr-only">
        Message {roomName}
      </label>
      <textarea
        id={id}
        ref={(el) => {
          box.current = el
          if (typeof ref === 'function') ref(el)
          else if (ref) (ref as { current: HTMLTextAreaElement | null }).current = el
        }}
        rows={rows}
        value={text}
        aria-controls={suggestions.length > 0 ? listId : undefined}
        aria-autocomplete="list"
        aria-activedescendant={suggestions.length > 0 ? `${listId}-${Math.min(active, suggestions.length - 1)}` : undefined}
        onChange={(e) => {
          setText(e.target.value)
          setCaret(e.target.selectionStart ?? e.target.value.length)
          setActive(0)
          setSuggestDismissed(false)
          if (error) setError(null)
          onInput?.(e.target.value)
        }}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onBlur={() => onStop?.()}
        onPaste={(e) => {
          const files = Array.from(e.clipboardData.files)
          // A pasted image (a screenshot) or copied file is shared; rich text
          // (from a web page or an office document, which may carry a
          // picture of itself) stays text.
          if (!onFiles || files.length === 0 || e.clipboardData.types.includes('text/html')) return
          e.preventDefault()
          onFiles(files, true)
        }}
        onKeyDown={onKeyDown}
        placeholder={`Message ${roomName}`}
        aria-describedby={`${id}-help`}
        className="max-h-40 min-h-10 min-w-0 flex-1 resize-none rounded-xl border border-gray-300 bg-white px-3 py-2 text-[0.95rem] text-gray-900 placeholder:text-gray-500 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 dark:border-gray-700 dark:bg-gray-800 dark:text-gray-100 dark:placeholder:text-gray-400"
      />
      <span id={`${id}-help`} className="sr-only">
        Press Enter to send, Shift+Enter for a new line. Markdown formatting works. Type @ to mention someone.
      </span>
      <button
        type="submit"
        disabled={!text.trim()}
        className="h-10 rounded-xl bg-indigo-600 px-4 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-50 dark:bg-indigo-500 dark:hover:bg-indigo-400"
      >
        {editing ? 'Save' : 'Send'}
      </button>
    </form>
  )
}
