import { localpart, str } from './events'

/**
 * Whether a message is meant for me: listed in `m.mentions.user_ids`
 * (intentional mentions); for messages without `m.mentions` (older
 * clients), when it says my display name or user name as a word.
 */
export function mentionsMe(content: Record<string, unknown>, userId: string, myName: string): boolean {
  const mentions = content['m.mentions']
  if (mentions && typeof mentions === 'object') {
    const ids = (mentions as { user_ids?: unknown }).user_ids
    return Array.isArray(ids) && ids.includes(userId)
  }
  const body = str(content.body) ?? ''
  const words = [myName, localpart(userId)].filter((w) => w.length > 1).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return words.some((w) => new RegExp(`(^|\\W)${w}(\\W|$)`, 'i').test(body))
}

/** The `@query` being typed just before the caret, if any (start: index of the @). */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const m = /(^|\s)@([^\s@]*)$/.exec(before)
  if (!m) return null
  return { start: before.length - m[2].length - 1, query: m[2] }
}

export interface MemberOption {
  userId: string
  name: string
}

/** Members whose name or user id starts with (then contains) the query, at most `limit`. */
export function matchMembers(members: readonly MemberOption[], query: string, limit = 6): MemberOption[] {
  const q = query.toLowerCase()
  const score = (m: MemberOption) => {
    const name = m.name.toLowerCase()
    const id = m.userId.toLowerCase()
    if (name.startsWith(q) || id.startsWith(`@${q}`)) return 0
    if (name.includes(q) || id.includes(q)) return 1
    return 2
  }
  return members
    .map((m) => ({ m, s: score(m) }))
    .filter((x) => x.s < 2)
    .sort((a, b) => a.s - b.s || a.m.name.localeCompare(b.m.name))
    .slice(0, limit)
    .map((x) => x.m)
}
