import type { JsonObject, MatrixEvent, StrippedStateEvent } from '../api/types'
import type { StateMap } from './types'

export function isStateEvent(e: { state_key?: unknown }): boolean {
  return typeof e.state_key === 'string'
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function getState(state: StateMap, type: string, stateKey = ''): MatrixEvent | undefined {
  return state[type]?.[stateKey]
}

/** Returns a new state map with the given state events applied in order. */
export function applyStateEvents(state: StateMap, events: readonly MatrixEvent[]): StateMap {
  let next = state
  for (const e of events) {
    if (typeof e.state_key !== 'string') continue
    if (next === state) next = { ...state }
    next[e.type] = { ...(next[e.type] ?? {}), [e.state_key]: e }
  }
  return next
}

/** Membership of a user in the state map ('leave' when unknown). */
export function membershipOf(state: StateMap, userId: string): string {
  return str(getState(state, 'm.room.member', userId)?.content.membership) ?? 'leave'
}

/** Display name of a user as known from room state, falling back to the localpart. */
export function memberName(state: StateMap, userId: string): string {
  const name = str(getState(state, 'm.room.member', userId)?.content.displayname)
  return name && name.trim() ? name : localpart(userId)
}

export function localpart(userId: string): string {
  const m = /^@([^:]+)(:.*)?$/.exec(userId)
  return m ? m[1] : userId
}

export function isMessageEvent(e: MatrixEvent): boolean {
  return e.type === 'm.room.message'
}

export function isRedacted(e: MatrixEvent): boolean {
  return e.unsigned?.redacted_because !== undefined || (isMessageEvent(e) && Object.keys(e.content).length === 0)
}

/** Text of a message event, '' when it has none. */
export function messageBody(e: { content: JsonObject }): string {
  return str(e.content.body) ?? ''
}

/**
 * Describes a state change shown as a small line in the timeline, e.g.
 * "alice joined". Returns null for events not shown as such lines.
 */
export function describeStateChange(e: MatrixEvent, state: StateMap): string | null {
  const who = senderName(e, state)
  switch (e.type) {
    case 'm.room.member': {
      const target = e.state_key ?? ''
      const membership = str(e.content.membership)
      const prev = e.unsigned?.prev_content ?? {}
      const prevMembership = str(prev.membership)
      const targetName = str(e.content.displayname) || str(prev.displayname) || localpart(target)
      const self = e.sender === target
      switch (membership) {
        case 'join':
          if (prevMembership === 'join') {
            const oldName = str(prev.displayname)
            const newName = str(e.content.displayname)
            if (oldName !== newName) {
              if (newName && oldName) return `${oldName} changed their name to ${newName}`
              if (newName) return `${localpart(target)} set their name to ${newName}`
              return `${oldName ?? localpart(target)} removed their display name`
            }
            return null // e.g. avatar change: not worth a line
          }
          return `${targetName} joined`
        case 'invite':
          return `${who} invited ${targetName}`
        case 'leave':
          if (self) return prevMembership === 'invite' ? `${targetName} declined the invitation` : `${targetName} left`
          if (prevMembership === 'invite') return `${who} withdrew ${targetName}'s invitation`
          if (prevMembership === 'ban') return `${who} unbanned ${targetName}`
          return `${who} removed ${targetName}`
        case 'ban':
          return `${who} banned ${targetName}`
        case 'knock':
          return `${targetName} asked to join`
        default:
          return null
      }
    }
    case 'm.room.create':
      return `${who} created the room`
    case 'm.room.name': {
      const name = str(e.content.name)
      return name ? `${who} changed the room name to ${name}` : `${who} removed the room name`
    }
    case 'm.room.topic': {
      const topic = str(e.content.topic)
      return topic ? `${who} changed the topic to ${topic}` : `${who} removed the topic`
    }
    default:
      return null
  }
}

export function senderName(e: { sender: string }, state: StateMap): string {
  return memberName(state, e.sender)
}

export function strippedState(events: readonly StrippedStateEvent[], type: string, stateKey = ''): StrippedStateEvent | undefined {
  return events.find((e) => e.type === type && e.state_key === stateKey)
}
