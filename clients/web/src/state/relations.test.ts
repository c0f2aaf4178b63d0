import { describe, expect, it } from 'vitest'
import type { MatrixEvent } from '../api/types'
import { ALICE, BOB, ME, ev, joined, syncResp } from '../test/fixtures'
import { groupTimeline } from './grouping'
import { applyRedactions, collectEdits, displayedContent } from './relations'
import { buildRoomList } from './rooms'
import { applySync } from './sync'
import { emptyClientState } from './types'

const ROOM = '!room:hs.test'

function edit(id: string, target: string, body: string, ts: number, sender = ALICE): MatrixEvent {
  return {
    event_id: id,
    type: 'm.room.message',
    sender,
    origin_server_ts: ts,
    content: {
      msgtype: 'm.text',
      body: `* ${body}`,
      'm.new_content': { msgtype: 'm.text', body },
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
    },
  }
}

function redaction(id: string, target: string, ts: number): MatrixEvent {
  return { event_id: id, type: 'm.room.redaction', sender: ALICE, origin_server_ts: ts, content: { redacts: target } }
}

const messages = (items: ReturnType<typeof groupTimeline>) =>
  items.flatMap((i) => (i.kind === 'group' ? i.messages : [])).map((m) => ({ id: m.eventId, body: m.content.body, edited: !!m.edited, redacted: !!m.redacted }))

describe('edits', () => {
  it('shows the newest edit by the original sender, marked edited; edits are not messages of their own', () => {
    const events = [ev('$1', 1, ALICE, 'helo'), edit('$e1', '$1', 'hello', 2), edit('$e2', '$1', 'hello!', 3), edit('$evil', '$1', 'pwned', 4, BOB)]
    expect(collectEdits(events).get('$1')?.event_id).toBe('$e2')
    expect(displayedContent(events[0], collectEdits(events))).toEqual({ content: { msgtype: 'm.text', body: 'hello!' }, edited: true })
    expect(messages(groupTimeline(events, [], {}, ME))).toEqual([{ id: '$1', body: 'hello!', edited: true, redacted: false }])
  })

  it('previews the edited text in the room list', () => {
    const s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$1', 1, ALICE, 'helo'), edit('$e1', '$1', 'hello', 2)]) } }))
    expect(buildRoomList(s).rooms[0].preview).toBe('alice: hello')
  })
})

describe('redactions', () => {
  it('strip the target when the redaction arrives later, and show "Message deleted"', () => {
    let s = applySync(emptyClientState(ME), syncResp('s1', { join: { [ROOM]: joined([ev('$1', 1, ALICE, 'secret'), ev('$2', 2)]) } }))
    s = applySync(s, syncResp('s2', { join: { [ROOM]: joined([redaction('$r', '$1', 3)]) } }))
    const tl = s.rooms[ROOM].timeline
    expect(tl[0].content).toEqual({})
    expect(tl[0].unsigned?.redacted_because).toMatchObject({ event_id: '$r' })
    expect(messages(groupTimeline(tl, [], {}, ME))).toEqual([
      { id: '$1', body: undefined, edited: false, redacted: true },
      { id: '$2', body: '$2', edited: false, redacted: false },
    ])
  })

  it('understand the pre-v11 top-level redacts and leave unrelated timelines alone', () => {
    const tl = [ev('$1', 1)]
    const old = { ...redaction('$r', '$1', 2), content: {}, redacts: '$1' } as MatrixEvent
    expect(applyRedactions(tl, [old])[0].content).toEqual({})
    expect(applyRedactions(tl, [redaction('$r', '$zzz', 2)])).toBe(tl)
  })

  it('a redacted message keeps showing as deleted, not with an earlier edit', () => {
    const events = applyRedactions([ev('$1', 1, ALICE, 'a'), edit('$e', '$1', 'b', 2)], [redaction('$r', '$1', 3)])
    expect(messages(groupTimeline(events, [], {}, ME))).toEqual([{ id: '$1', body: undefined, edited: false, redacted: true }])
  })
})
