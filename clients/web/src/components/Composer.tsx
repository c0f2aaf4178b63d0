import { useId, useState, type KeyboardEvent, type Ref } from 'react'

/** Message box: Enter sends, Shift+Enter inserts a newline. Typing is reported through `onInput` / `onStop`. */
export function Composer({
  roomName,
  onSend,
  onInput,
  onStop,
  ref,
}: {
  roomName: string
  onSend: (body: string) => void
  /** The text changed (for typing notifications). */
  onInput?: (text: string) => void
  /** The box lost focus: no longer typing. */
  onStop?: () => void
  ref?: Ref<HTMLTextAreaElement>
}) {
    const [text, setText] = useState('')
    const [error, setError] = useState<string | null>(null)
    const id = useId()

    function send() {
      if (!text.trim()) return
      try {
        onSend(text)
      } catch (e) {
        // Refused before sending (e.g. over the size limit): the text stays to be shortened.
        setError(e instanceof Error ? e.message : String(e))
        return
      }
      setError(null)
      setText('')
    }

    function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
      if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
        e.preventDefault()
        send()
      }
    }

    const rows = Math.min(6, Math.max(1, text.split('\n').length))
    return (
      <form
        aria-label="Send a message"
        className="flex flex-wrap items-end gap-2 border-t border-gray-200 bg-white p-3 dark:border-gray-800 dark:bg-gray-900"
        onSubmit={(e) => {
          e.preventDefault()
          send()
        }}
      >
        {error && (
          <p role="alert" data-testid="composer-error" className="basis-full text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
        <label htmlFor={id} className="sr-only">
          Message {roomName}
        </label>
        <textarea
          id={id}
          ref={ref}
          rows={rows}
          value={text}
          onChange={(e) => {
            setText(e.target.value)
            if (error) setError(null)
            onInput?.(e.target.value)
          }}
          onBlur={() => onStop?.()}
          onKeyDown={onKeyDown}
          placeholder={`Message ${roomName}`}
          aria-describedby={`${id}-help`}
          className="max-h-40 min-h-10 flex-1 resize-none rounded-xl border border-gray-300 bg-white px-3 py-2 text-[0.95rem] text-gray-900 placeholder:text-gray-500 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 dark:border-gray-700 dark:bg-gray-800 dark:text-gray-100 dark:placeholder:text-gray-400"
        />
        <span id={`${id}-help`} className="sr-only">
          Press Enter to send, Shift+Enter for a new line.
        </span>
        <button
          type="submit"
          disabled={!text.trim()}
          className="h-10 rounded-xl bg-indigo-600 px-4 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:opacity-50 dark:bg-indigo-500 dark:hover:bg-indigo-400"
        >
          Send
        </button>
      </form>
    )
}
