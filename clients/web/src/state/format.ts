/** Date/time formatting helpers (locale-aware, no React). */

export function formatTime(ts: number, locale?: string): string {
  return new Date(ts).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
}

function startOfDay(ts: number): number {
  const d = new Date(ts)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

/** "Today", "Yesterday", a weekday within the last week, else a date. */
export function formatDay(ts: number, now: number = Date.now(), locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000)
  if (days === 0) return 'Today'
  if (days === 1) return 'Yesterday'
  if (days > 1 && days < 7) return new Date(ts).toLocaleDateString(locale, { weekday: 'long' })
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear()
  return new Date(ts).toLocaleDateString(locale, {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  })
}

/** Short timestamp for the room list: time today, weekday this week, else date. */
export function formatListTime(ts: number, now: number = Date.now(), locale?: string): string {
  if (!ts) return ''
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000)
  if (days <= 0) return formatTime(ts, locale)
  if (days === 1) return 'Yesterday'
  if (days < 7) return new Date(ts).toLocaleDateString(locale, { weekday: 'short' })
  return new Date(ts).toLocaleDateString(locale, { day: 'numeric', month: 'short' })
}
