import { useEffect, useId, useRef, useState, type ReactNode } from 'react'

/**
 * An accessible modal built on the native <dialog> element: focus is moved
 * into it and trapped by the browser, Escape closes it.
 */
export function Modal({
  title,
  onClose,
  children,
  wide = false,
}: {
  title: string
  onClose: () => void
  children: ReactNode
  /** Nearly the whole window (the image viewer). */
  wide?: boolean
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()

  // Focus goes back where it was when the dialog closes (the element is
  // removed by React, so the browser's own restoring does not happen).
  // Read while rendering, before anything in the dialog takes the focus.
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null))

  useEffect(() => {
    const dialog = ref.current
    if (dialog && !dialog.open && typeof dialog.showModal === 'function') dialog.showModal()
    // React's autoFocus ran while the dialog was closed (so it did nothing):
    // the field marked data-autofocus gets the focus, not the first button.
    dialog?.querySelector<HTMLElement>('[data-autofocus]')?.focus()
    return () => {
      if (dialog?.open) dialog.close()
      if (opener?.isConnected) {
        opener.focus()
        // A button shown only while its row has the focus (message actions on
        // touch screens) is hidden now: focus the row first, then the button.
        if (document.activeElement !== opener) {
          opener.parentElement?.closest<HTMLElement>('[tabindex]')?.focus()
          opener.focus()
        }
      }
    }
  }, [opener])

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
      onClick={(e) => {
        // A click on the backdrop (outside the panel) closes the dialog.
        if (e.target === ref.current) onClose()
      }}
      className={`m-auto w-[calc(100%-2rem)] ${wide ? 'max-w-5xl' : 'max-w-md'} rounded-xl bg-white p-0 text-gray-900 shadow-xl backdrop:bg-black/50 dark:bg-gray-900 dark:text-gray-100`}
    >
      <div className="p-5">
        <div className="mb-4 flex items-center justify-between gap-4">
          <h2 id={titleId} className="text-lg font-semibold">
            {title}
          </h2>
          <button
            type="button"
            onClick={onClose}
            className="rounded-md p-1 text-gray-500 hover:bg-gray-100 hover:text-gray-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-400 dark:hover:bg-gray-800 dark:hover:text-gray-100"
            aria-label="Close"
          >
            <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
              <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
            </svg>
          </button>
        </div>
        {children}
      </div>
    </dialog>
  )
}
