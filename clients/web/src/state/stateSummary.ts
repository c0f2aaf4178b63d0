import type { MatrixEvent } from '../api/types'
import { describeStateChange, localpart, memberName, str } from './events'
import type { StateMap } from './types'

/**
 * One line for a run of consecutive state events (membership changes, room
 * settings), e.g. "ana created and configured the room, 3 people joined".
 * `details` lists the single changes (shown when the line is expanded).
 */
export interface StateRunSummary {
  text: string
  details: string[]
}

/** "ana", "ana and ben", "3 people". */
export function peopleList(names: readonly string[]): string {
  if (names.length === 1) return names[0]
  if (names.length === 2) return `${names[0]} and ${names[1]}`
  return `${names.length} people`
}

function targetName(e: MatrixEvent, state: StateMap): string {
  const target = e.state_key ?? ''
  return str(e.content.displayname) || str(e.unsigned?.prev_content?.displayname) || memberNameOr(state, target)
}

function memberNameOr(state: StateMap, userId: string): string {
  return state['m.room.member']?.[userId] ? memberName(state, userId) : localpart(userId)
}

export function summarizeStateRun(events: readonly MatrixEvent[], state: StateMap): StateRunSummary | null {
  const details = events.map((e) => describeStateChange(e, state)).filter((t): t is string => t !== null)
  if (details.length === 0) return null
  const create = events.find((e) => e.type === 'm.room.create')
  if (details.length === 1 && !create) return { text: details[0], details }

  const creator = create?.sender
  const parts: string[] = []
  const joined: string[] = []
  const left: string[] = []
  const invited: string[] = []
  const inviters = new Set<string>()
  const others: string[] = []
  const once = (list: string[], name: string) => {
    if (!list.includes(name)) list.push(name)
  }
  let configured = false
  for (const e of events) {
    if (e === create) continue
    // The creator's own set-up (joining, power levels, rules, name, topic) is "configured".
    if (creator && e.sender === creator && !(e.type === 'm.room.member' && e.state_key !== creator)) {
      configured = true
      continue
    }
    if (e.type === 'm.room.member') {
      const membership = str(e.content.membership)
      const prev = str(e.unsigned?.prev_content?.membership)
      if (membership === 'join' && prev !== 'join') once(joined, targetName(e, state))
      else if (membership === 'leave' && e.sender === e.state_key && prev !== 'invite') once(left, targetName(e, state))
      else if (membership === 'invite') {
        once(invited, targetName(e, state))
        inviters.add(memberNameOr(state, e.sender))
      } else {
        const text = describeStateChange(e, state)
        if (text) others.push(text)
      }
      continue
    }
    const text = describeStateChange(e, state)
    if (text) others.push(text)
  }
  if (create) parts.push(`${memberNameOr(state, create.sender)} created${configured ? ' and configured' : ''} the room`)
  if (invited.length) {
    parts.push(inviters.size === 1 ? `${[...inviters][0]} invited ${peopleList(invited)}` : `${peopleList(invited)} were invited`)
  }
  if (joined.length) parts.push(`${peopleList(joined)} joined`)
  if (left.length) parts.push(`${peopleList(left)} left`)
  parts.push(...others)
  return { text: parts.join(', '), details }
}
