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

/** A coloured circle with the first letter of a name (purely decorative). */
export function Avatar({ id, name, size = 'md' }: { id: string; name: string; size?: 'xs' | 'sm' | 'md' }) {
  const dims = size === 'xs' ? 'h-4 w-4 text-[9px] leading-none' : size === 'sm' ? 'h-8 w-8 text-sm' : 'h-10 w-10 text-base'
  return (
    <span
      aria-hidden="true"
      className={`${dims} ${COLORS[hash(id) % COLORS.length]} inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white`}
    >
      {initial(name)}
    </span>
  )
}
