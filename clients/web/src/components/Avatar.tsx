import { thumbnailPath } from '../state/media'
import { useMediaUrl } from './useMedia'

const COLORS = [
  'bg-rose-600',
  'bg-amber-700',
  'bg-emerald-700',
  'bg-sky-700',
  'bg-indigo-600',
  'bg-fuchsia-700',
  'bg-teal-700',
  'bg-orange-700',
]

function hash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0
  return Math.abs(h)
}

function initial(name: string): string {
  const t = name.replace(/^[@#!+]/, '').trim()
  return (t ? Array.from(t)[0] : '?').toUpperCase()
}

/**
 * A round avatar (purely decorative): the picture at `mxc` when there is one
 * (a server thumbnail, fetched with the access token), else a coloured
 * circle with the first letter of the name.
 */
export function Avatar({ id, name, size = 'md', mxc }: { id: string; name: string; size?: 'xs' | 'sm' | 'md' | 'lg'; mxc?: string }) {
  const dims =
    size === 'xs'
      ? 'h-4 w-4 text-[9px] leading-none'
      : size === 'sm'
        ? 'h-8 w-8 text-sm'
        : size === 'lg'
          ? 'h-16 w-16 text-2xl'
          : 'h-10 w-10 text-base'
  // 96 px covers the largest size at 1.5x; every avatar of a user shares one download.
  const { url } = useMediaUrl(mxc ? thumbnailPath(mxc, 96, 96, 'crop') : null)
  if (url) {
    return (
      <img
        src={url}
        alt=""
        aria-hidden="true"
        data-testid="avatar-image"
        className={`${dims} shrink-0 select-none rounded-full object-cover`}
      />
    )
  }
  return (
    <span
      aria-hidden="true"
      className={`${dims} ${COLORS[hash(id) % COLORS.length]} inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white`}
    >
      {initial(name)}
    </span>
  )
}
