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

export function PeopleIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="7.5" cy="7" r="2.8" />
      <path strokeLinecap="round" d="M2.5 16c.4-2.8 2.4-4.5 5-4.5s4.6 1.7 5 4.5" />
      <circle cx="14" cy="7.5" r="2.2" />
      <path strokeLinecap="round" d="M14.5 11.5c1.7.3 2.8 1.8 3 4" />
    </svg>
  )
}

export function PersonAddIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="8" cy="7" r="3" />
      <path strokeLinecap="round" d="M2.5 16.5c.4-3 2.6-5 5.5-5s5.1 2 5.5 5M15.5 5.5v5M13 8h5" />
    </svg>
  )
}

export function LeaveIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path strokeLinecap="round" strokeLinejoin="round" d="M11 3.5H5v13h6M9 10h8.5M14.5 7l3 3-3 3" />
    </svg>
  )
}

export function ReplyIcon({ className = 'h-4 w-4' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path strokeLinecap="round" strokeLinejoin="round" d="M8 5L3.5 9.5 8 14M4 9.5h7.5a5 5 0 0 1 5 5V16" />
    </svg>
  )
}

export function PencilIcon({ className = 'h-4 w-4' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path strokeLinejoin="round" d="M13.5 3.5l3 3-9 9H4.5v-3z" />
    </svg>
  )
}

export function SmileIcon({ className = 'h-4 w-4' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="10" cy="10" r="7" />
      <path strokeLinecap="round" d="M7 11.8c.8 1.1 1.8 1.7 3 1.7s2.2-.6 3-1.7M7.5 8h.01M12.5 8h.01" strokeWidth="2" />
    </svg>
  )
}

export function SearchIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="8.5" cy="8.5" r="5" />
      <path strokeLinecap="round" d="M12.3 12.3L17 17" />
    </svg>
  )
}

export function PaperclipIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path
        strokeLinecap="round"
        strokeLinejoin="round"
        d="M15.5 9.5l-5.8 5.8a3.5 3.5 0 0 1-5-5l6.3-6.3a2.3 2.3 0 0 1 3.3 3.3l-6.2 6.2a1.2 1.2 0 0 1-1.7-1.7l5.6-5.6"
      />
    </svg>
  )
}

export function FileIcon({ className = 'h-6 w-6' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
      <path strokeLinejoin="round" d="M5 2.5h6.5L15.5 6.5v11h-10.5z" />
      <path strokeLinejoin="round" d="M11.5 2.5v4h4" />
    </svg>
  )
}

/** Message search: a magnifier over lines of text. */
export function TextSearchIcon({ className = 'h-5 w-5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round">
      <path d="M3 5h8M3 9h5M3 13h4" />
      <circle cx="13" cy="11" r="3.2" />
      <path d="M15.4 13.4L18 16" />
    </svg>
  )
}
