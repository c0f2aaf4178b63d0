import { memberName } from './events'
import { buildRoomList } from './rooms'
import type { ClientState } from './types'

export type SwitcherItem =
  | { kind: 'room'; roomId: string; name: string; isDirect: boolean }
  | { kind: 'person'; userId: string; name: string }

/**
 * What the quick switcher (Ctrl/Cmd+K) offers for `query`: my rooms and
 * DMs by name (most recent first, names starting with the query before
 * those containing it), then people I share a room with but have no DM with.
 */
export function switcherItems(state: ClientState, query: string, limit = 8): SwitcherItem[] {
  const q = query.trim().toLowerCase()
  const { rooms, directs } = buildRoomList(state)
  const rank = (name: string) => {
    const n = name.toLowerCase()
    return n.startsWith(q) ? 0 : n.includes(q) ? 1 : 2
  }
  const roomItems = [...rooms, ...directs]
    .map((r) => ({ item: { kind: 'room' as const, roomId: r.roomId, name: r.name, isDirect: r.isDirect }, rank: rank(r.name), ts: r.ts }))
    .filter((x) => x.rank < 2)
    .sort((a, b) => a.rank - b.rank || b.ts - a.ts)
    .map((x) => x.item)
  const dmPartners = new Set(directs.map((d) => d.partner).filter((p): p is string => !!p))
  const people = new Map<string, string>()
  for (const room of Object.values(state.rooms)) {
    for (const [userId, ev] of Object.entries(room.state['m.room.member'] ?? {})) {
      if (userId === state.userId || dmPartners.has(userId) || people.has(userId) || ev.content.membership !== 'join') continue
      people.set(userId, memberName(room.state, userId))
    }
  }
  const personItems = [...people]
    .map(([userId, name]) => ({ item: { kind: 'person' as const, userId, name }, rank: Math.min(rank(name), rank(userId.slice(1))) }))
    .filter((x) => x.rank < 2)
    .sort((a, b) => a.rank - b.rank || a.item.name.localeCompare(b.item.name))
    .map((x) => x.item)
  return [...roomItems, ...personItems].slice(0, limit)
}
