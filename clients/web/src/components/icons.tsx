/** Small inline icons (no icon font or CDN: the server's CSP is `default-src 'self'`). */

export function GearIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path
        strokeLinejoin="round"
        d="M8.6 2.5h2.8l.4 2.1 1.4.8 2-.8 1.4 2.4-1.6 1.4v1.6l1.6 1.4-1.4 2.4-2-.8-1.4.8-.4 2.1H8.6l-.4-2.1-1.4-.8-2 .8-1.4-2.4L5 10.8V9.2L3.4 7.8l1.4-2.4 2 .8 1.4-.8z"
      />
      <circle cx="10" cy="10" r="2.3" />
    </svg>
  )
}

export function BellIcon({ muted = false, className = 'h-5 w-5' }: { muted?: boolean; className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path
        strokeLinejoin="round"
        d="M10 3a4.5 4.5 0 0 0-4.5 4.5v2.6c0 .7-.2 1.3-.6 1.9L4 13.5h12l-.9-1.5a3.6 3.6 0 0 1-.6-1.9V7.5A4.5 4.5 0 0 0 10 3z"
      />
      <path strokeLinecap="round" d="M8.3 16a1.8 1.8 0 0 0 3.4 0" />
      {muted && <path strokeLinecap="round" d="M3.5 3.5l13 13" />}
    </svg>
  )
}

export function TrashIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path strokeLinecap="round" strokeLinejoin="round" d="M4 6h12M8 6V4.5h4V6M5.5 6l.8 10h7.4l.8-10M8.5 9v4.5M11.5 9v4.5" />
    </svg>
  )
}
