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

/** Room versions whose creators outrank every power level (MSC4289). */
const PRIVILEGED_CREATOR_VERSIONS = new Set(['12'])

/**
 * Whether `userId` is one of the room's creators in a room version where
 * creators hold unlimited power outside m.room.power_levels: the create
 * event's sender and its `additional_creators`.
 */
export function isPrivilegedCreator(state: StateMap, userId: string): boolean {
  const create = getState(state, 'm.room.create')
  if (!create || !PRIVILEGED_CREATOR_VERSIONS.has(str(create.content.room_version) ?? '1')) return false
  if (create.sender === userId) return true
  const extra = create.content.additional_creators
  return Array.isArray(extra) && extra.includes(userId)
}

/**
 * Whether `userId` may send the state event `type` (the spec's power
 * levels: `events[type]`, else `state_default`; without a power levels
 * event only the room's creator may; in room version 12 the creators
 * always may).
 */
export function canSetState(state: StateMap, userId: string, type: string): boolean {
  if (isPrivilegedCreator(state, userId)) return true
  const pl = getState(state, 'm.room.power_levels')?.content
  if (!pl) return getState(state, 'm.room.create')?.sender === userId
  const users = pl.users && typeof pl.users === 'object' ? (pl.users as Record<string, unknown>) : {}
  const mine = level(users[userId], level(pl.users_default, 0))
  const events = pl.events && typeof pl.events === 'object' ? (pl.events as Record<string, unknown>) : {}
  const needed = level(events[type], level(pl.state_default, 50))
  return mine >= needed
}
