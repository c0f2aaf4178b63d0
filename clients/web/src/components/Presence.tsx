import type { PresenceInfo } from '../state/types'
import { Avatar } from './Avatar'

const DOT: Record<string, string> = {
  online: 'bg-emerald-500',
  unavailable: 'bg-amber-400',
  offline: 'bg-gray-400 dark:bg-gray-500',
}

/** A small coloured dot: green online, amber away, grey offline. Decorative: say it in text too. */
export function PresenceDot({ presence, className = '' }: { presence: PresenceInfo | undefined; className?: string }) {
  const state = presence?.presence ?? 'offline'
  return (
    <span
      aria-hidden="true"
      data-presence={state}
      className={`inline-block h-3 w-3 shrink-0 rounded-full ring-2 ring-white dark:ring-gray-900 ${DOT[state]} ${className}`}
    />
  )
}

/** An avatar with the presence dot in its corner. */
export function AvatarWithPresence({
  id,
  name,
  presence,
  size = 'md',
  mxc,
}: {
  id: string
  name: string
  presence: PresenceInfo | undefined
  size?: 'sm' | 'md'
  mxc?: string
}) {
  return (
    <span className="relative inline-flex shrink-0">
      <Avatar id={id} name={name} size={size} mxc={mxc} />
      <PresenceDot presence={presence} className="absolute -right-0.5 -bottom-0.5" />
    </span>
  )
}
