import type { JoinedRoomSync, MatrixEvent, StrippedStateEvent, SyncResponse } from '../api/types'

export const ME = '@me:hs.test'
export const ALICE = '@alice:hs.test'
export const BOB = '@bob:hs.test'

let counter = 0

export function msg(sender: string, body: string, ts: number, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  counter += 1
  return {
    event_id: `$m${counter}`,
    type: 'm.room.message',
    sender,
    origin_server_ts: ts,
    content: { msgtype: 'm.text', body },
    ...extra,
  }
}

export function ev(id: string, ts: number, sender = ALICE, body = id): MatrixEvent {
  return { event_id: id, type: 'm.room.message', sender, origin_server_ts: ts, content: { msgtype: 'm.text', body } }
}

export function member(
  userId: string,
  membership: string,
  ts: number,
  opts: { sender?: string; displayname?: string; id?: string; prev?: Record<string, unknown>; isDirect?: boolean } = {},
): MatrixEvent {
  counter += 1
  return {
    event_id: opts.id ?? `$member${counter}`,
    type: 'm.room.member',
    state_key: userId,
    sender: opts.sender ?? userId,
    origin_server_ts: ts,
    content: {
      membership,
      ...(opts.displayname ? { displayname: opts.displayname } : {}),
      ...(opts.isDirect ? { is_direct: true } : {}),
    },
    ...(opts.prev ? { unsigned: { prev_content: opts.prev } } : {}),
  }
}

export function stateEv(type: string, content: Record<string, unknown>, ts: number, sender = ALICE): MatrixEvent {
  counter += 1
  return { event_id: `$state${counter}`, type, state_key: '', sender, origin_server_ts: ts, content }
}

export function stripped(ev: MatrixEvent): StrippedStateEvent {
  return { type: ev.type, state_key: ev.state_key ?? '', sender: ev.sender, content: ev.content }
}

export function syncResp(
  next_batch: string,
  rooms: {
    join?: Record<string, JoinedRoomSync>
    invite?: Record<string, StrippedStateEvent[]>
    leave?: string[]
  } = {},
  accountData: { type: string; content: Record<string, unknown> }[] = [],
): SyncResponse {
  return {
    next_batch,
    rooms: {
      join: rooms.join ?? {},
      invite: Object.fromEntries(
        Object.entries(rooms.invite ?? {}).map(([id, events]) => [id, { invite_state: { events } }]),
      ),
      leave: Object.fromEntries((rooms.leave ?? []).map((id) => [id, { timeline: { events: [] } }])),
    },
    account_data: { events: accountData },
  }
}

export function joined(events: MatrixEvent[], opts: { limited?: boolean; prevBatch?: string; state?: MatrixEvent[] } = {}): JoinedRoomSync {
  return {
    state: { events: opts.state ?? [] },
    timeline: { events, limited: opts.limited ?? false, prev_batch: opts.prevBatch },
  }
}
