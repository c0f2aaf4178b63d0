import { useEffect, useRef } from 'react'

/** A small fixed set (no emoji database in the bundle): the reactions people use most. */
const EMOJI: readonly { emoji: string; name: string }[] = [
  { emoji: '👍', name: 'thumbs up' },
  { emoji: '❤️', name: 'red heart' },
  { emoji: '😂', name: 'tears of joy' },
  { emoji: '🎉', name: 'party popper' },
  { emoji: '😮', name: 'surprised' },
  { emoji: '😢', name: 'crying' },
  { emoji: '🙏', name: 'folded hands' },
  { emoji: '👀', name: 'eyes' },
  { emoji: '🔥', name: 'fire' },
  { emoji: '✅', name: 'check mark' },
  { emoji: '👎', name: 'thumbs down' },
  { emoji: '😄', name: 'grinning' },
  { emoji: '🤔', name: 'thinking' },
  { emoji: '👏', name: 'clapping' },
  { emoji: '🚀', name: 'rocket' },
  { emoji: '💯', name: 'hundred points' },
  { emoji: '😅', name: 'sweat smile' },
  { emoji: '🙌', name: 'raised hands' },
  { emoji: '😍', name: 'heart eyes' },
  { emoji: '🤝', name: 'handshake' },
  { emoji: '☕', name: 'coffee' },
  { emoji: '👋', name: 'waving hand' },
  { emoji: '💡', name: 'light bulb' },
  { emoji: '❓', name: 'question mark' },
]

/**
 * A grid of emoji buttons in a popover: arrow keys move between them,
 * Escape closes it and gives focus back to the button that opened it.
 */
export function EmojiPicker({
  onPick,
  onClose,
  below = false,
}: {
  onPick: (emoji: string) => void
  onClose: () => void
  /** Open downwards (the button is near the top of the scrolling timeline, which would clip it). */
  below?: boolean
}) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button')?.focus()
    const onDown = (e: PointerEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose()
    }
    document.addEventListener('pointerdown', onDown)
    return () => document.removeEventListener('pointerdown', onDown)
  }, [onClose])

  function onKeyDown(e: React.KeyboardEvent<HTMLDivElement>) {
    if (e.key === 'Escape') {
      e.preventDefault()
      e.stopPropagation()
      onClose()
      return
    }
    const buttons = Array.from(ref.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement)
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 6, ArrowUp: -6 }[e.key]
    if (step !== undefined && i >= 0) {
      e.preventDefault()
      buttons[(i + step + buttons.length) % buttons.length]?.focus()
    }
  }

  return (
    <div
      ref={ref}
      role="group"
      aria-label="Pick a reaction"
      onKeyDown={onKeyDown}
      className={`absolute right-0 ${below ? 'top-full mt-1' : 'bottom-full mb-1'} z-20 grid w-max grid-cols-6 gap-0.5 rounded-lg border border-gray-200 bg-white p-1.5 shadow-lg dark:border-gray-700 dark:bg-gray-900`}
    >
      {EMOJI.map((e) => (
        <button
          key={e.emoji}
          type="button"
          aria-label={`React with ${e.name}`}
          title={e.name}
          onClick={() => onPick(e.emoji)}
          className="rounded-md p-1 text-lg leading-none hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-gray-800"
        >
          {e.emoji}
        </button>
      ))}
    </div>
  )
}
