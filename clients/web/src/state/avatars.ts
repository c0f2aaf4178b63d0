import { getState, str } from './events'
import type { StateMap } from './types'

/** A member's avatar (mxc URI) from their m.room.member event. */
export function memberAvatar(state: StateMap, userId: string): string | undefined {
  const url = str(getState(state, 'm.room.member', userId)?.content.avatar_url)
  return url?.startsWith('mxc://') ? url : undefined
}

/** The room's avatar (m.room.avatar); for a DM without one, the other person's. */
export function roomAvatar(state: StateMap, partner?: string): string | undefined {
  const url = str(getState(state, 'm.room.avatar')?.content.url)
  if (url?.startsWith('mxc://')) return url
  return partner ? memberAvatar(state, partner) : undefined
}

function level(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? v : fallback
}

/**
 * Whether `userId` may send the state event `type` (the spec's power
 * levels: `events[type]`, else `state_default`; without a power levels
 * event only the room's creator may).
 */
export function canSetState(state: StateMap, userId: string, type: string): boolean {
  const pl = getState(state, 'm.room.power_levels')?.content
  if (!pl) return getState(state, 'm.room.create')?.sender === userId
  const users = pl.users && typeof pl.users === 'object' ? (pl.users as Record<string, unknown>) : {}
  const mine = level(users[userId], level(pl.users_default, 0))
  const events = pl.events && typeof pl.events === 'object' ? (pl.events as Record<string, unknown>) : {}
  const needed = level(events[type], level(pl.state_default, 50))
  return mine >= needed
}
