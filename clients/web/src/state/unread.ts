import type { ClientState } from './types'

/**
 * Unread counts come from the server (`unread_notifications` per joined
 * room). The room open on screen while the tab is visible counts as read:
 * its receipt is on its way and the next sync will say 0.
 */
export interface UnreadTotals {
  /** Sum of notification counts. */
  notifications: number
  /** Sum of highlight (mention) counts. */
  highlights: number
  /** Rooms with at least one notification. */
  rooms: number
}

export function unreadTotals(state: ClientState, openRoomId: string | null = null): UnreadTotals {
  let notifications = 0
  let highlights = 0
  let rooms = 0
  for (const room of Object.values(state.rooms)) {
    if (room.roomId === openRoomId) continue
    const n = Math.max(0, room.notificationCount, room.highlightCount)
    if (n > 0) rooms += 1
    notifications += n
    highlights += Math.max(0, room.highlightCount)
  }
  return { notifications, highlights, rooms }
}

export const APP_TITLE = 'Homeserver'

/** The document title: "(3) Homeserver" when anything is unread, else "Homeserver". */
export function documentTitle(totals: UnreadTotals, base: string = APP_TITLE): string {
  return totals.notifications > 0 ? `(${totals.notifications > 999 ? '999+' : totals.notifications}) ${base}` : base
}
