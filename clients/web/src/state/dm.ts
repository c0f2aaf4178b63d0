import type { DirectContent, JsonObject } from '../api/types'

/** Reads `m.direct` account data content defensively. */
export function parseDirect(content: JsonObject | undefined): DirectContent {
  const out: DirectContent = {}
  if (!content) return out
  for (const [userId, rooms] of Object.entries(content)) {
    if (Array.isArray(rooms)) out[userId] = rooms.filter((r): r is string => typeof r === 'string')
  }
  return out
}

/** Room ids listed in `m.direct`: these rooms are direct messages. */
export function directRoomIds(content: JsonObject | undefined): Set<string> {
  const ids = new Set<string>()
  for (const rooms of Object.values(parseDirect(content))) for (const r of rooms) ids.add(r)
  return ids
}

/** The user a DM room is with, according to `m.direct`. */
export function directPartner(content: JsonObject | undefined, roomId: string): string | undefined {
  for (const [userId, rooms] of Object.entries(parseDirect(content))) {
    if (rooms.includes(roomId)) return userId
  }
  return undefined
}

/** New `m.direct` content with `roomId` recorded as a DM with `userId` (no duplicates). */
export function addDirectRoom(content: JsonObject | undefined, userId: string, roomId: string): DirectContent {
  const direct = parseDirect(content)
  const rooms = direct[userId] ?? []
  if (rooms.includes(roomId)) return direct
  return { ...direct, [userId]: [...rooms, roomId] }
}

/** DM rooms with `userId` that are among `joinedRoomIds`. */
export function existingDirectRooms(content: JsonObject | undefined, userId: string, joinedRoomIds: Iterable<string>): string[] {
  const joined = new Set(joinedRoomIds)
  return (parseDirect(content)[userId] ?? []).filter((r) => joined.has(r))
}
