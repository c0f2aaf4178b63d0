/**
 * Types for the subset of the Matrix client-server API (v3) this client uses.
 * Only the fields we read are typed; everything else is kept as `unknown`.
 */

export type JsonObject = Record<string, unknown>

export interface MatrixEvent {
  event_id: string
  type: string
  sender: string
  origin_server_ts: number
  content: JsonObject
  state_key?: string
  room_id?: string
  unsigned?: {
    age?: number
    transaction_id?: string
    prev_content?: JsonObject
    redacted_because?: unknown
    [key: string]: unknown
  }
}

/** Stripped state events as found in `invite_state`. */
export interface StrippedStateEvent {
  type: string
  state_key: string
  sender: string
  content: JsonObject
  origin_server_ts?: number
}

export interface AccountDataEvent {
  type: string
  content: JsonObject
}

export interface JoinedRoomSync {
  summary?: {
    'm.heroes'?: string[]
    'm.joined_member_count'?: number
    'm.invited_member_count'?: number
  }
  state?: { events?: MatrixEvent[] }
  timeline?: {
    events?: MatrixEvent[]
    limited?: boolean
    prev_batch?: string
  }
  ephemeral?: { events?: AccountDataEvent[] }
  account_data?: { events?: AccountDataEvent[] }
  unread_notifications?: { notification_count?: number; highlight_count?: number }
}

export interface InvitedRoomSync {
  invite_state?: { events?: StrippedStateEvent[] }
}

export interface LeftRoomSync {
  state?: { events?: MatrixEvent[] }
  timeline?: { events?: MatrixEvent[]; limited?: boolean; prev_batch?: string }
}

export interface SyncResponse {
  next_batch: string
  rooms?: {
    join?: Record<string, JoinedRoomSync>
    invite?: Record<string, InvitedRoomSync>
    leave?: Record<string, LeftRoomSync>
    knock?: Record<string, unknown>
  }
  account_data?: { events?: AccountDataEvent[] }
  presence?: { events?: unknown[] }
  to_device?: { events?: unknown[] }
}

export interface LoginResponse {
  user_id: string
  access_token: string
  device_id: string
  home_server?: string
}

export interface RegisterResponse {
  user_id: string
  access_token?: string
  device_id?: string
}

export interface UiaResponse {
  session?: string
  flows?: { stages: string[] }[]
  params?: JsonObject
  completed?: string[]
}

export type RoomPreset = 'private_chat' | 'public_chat' | 'trusted_private_chat'

export interface CreateRoomRequest {
  name?: string
  topic?: string
  preset?: RoomPreset
  visibility?: 'public' | 'private'
  invite?: string[]
  is_direct?: boolean
  room_alias_name?: string
}

export interface MessagesResponse {
  chunk: MatrixEvent[]
  start: string
  end?: string
  state?: MatrixEvent[]
}

export interface PublicRoom {
  room_id: string
  name?: string
  topic?: string
  canonical_alias?: string
  num_joined_members: number
  avatar_url?: string
  world_readable?: boolean
  guest_can_join?: boolean
}

export interface PublicRoomsResponse {
  chunk: PublicRoom[]
  next_batch?: string
  prev_batch?: string
  total_room_count_estimate?: number
}

export interface UserSearchResult {
  user_id: string
  display_name?: string
  avatar_url?: string
}

export interface UserDirectoryResponse {
  results: UserSearchResult[]
  limited: boolean
}

export interface Profile {
  displayname?: string
  avatar_url?: string
}

export interface JoinedMembersResponse {
  joined: Record<string, { display_name?: string; avatar_url?: string }>
}

export interface PresenceContent {
  presence: 'online' | 'unavailable' | 'offline'
  last_active_ago?: number
  currently_active?: boolean
  status_msg?: string
}

/** Content of the `m.direct` account data event: user id → room ids. */
export type DirectContent = Record<string, string[]>

export interface TextMessageContent {
  msgtype: 'm.text' | 'm.notice' | 'm.emote'
  body: string
}

/** `GET /capabilities`. Only the capabilities this client reads are typed. */
export interface CapabilitiesResponse {
  capabilities: {
    /** MSC4174: Web Push straight from the homeserver; `vapid` is its VAPID public key (base64url). */
    'm.webpush'?: { enabled?: boolean; vapid?: string }
    [name: string]: unknown
  }
}

/** Pusher data: `url` (the gateway, or for Web Push the subscription endpoint) and `auth` (Web Push). */
export interface PusherData {
  url?: string
  /** Accepted by the server in place of `url` for `webpush` (earlier MSC4174 draft). */
  endpoint?: string
  auth?: string
  format?: 'event_id_only'
  [key: string]: unknown
}

/** A pusher as `GET /pushers` lists it. */
export interface Pusher {
  pushkey: string
  kind: 'http' | 'webpush' | string
  app_id: string
  app_display_name: string
  device_display_name: string
  profile_tag?: string
  lang: string
  data: PusherData
  activated?: boolean
}

/** `POST /pushers/set`: create or update (`kind` set) or delete (`kind: null`) a pusher. */
export type PusherSetRequest =
  | (Omit<Pusher, 'activated' | 'kind'> & { kind: 'http' | 'webpush'; append?: boolean })
  | { kind: null; app_id: string; pushkey: string }

export type PushRuleKind = 'override' | 'content' | 'room' | 'sender' | 'underride'

export interface PushCondition {
  kind: string
  key?: string
  pattern?: string
  [key: string]: unknown
}

export interface PushRule {
  rule_id: string
  default?: boolean
  enabled?: boolean
  conditions?: PushCondition[]
  pattern?: string
  actions: unknown[]
}

export type PushRuleset = Partial<Record<PushRuleKind, PushRule[]>>

/** `GET /pushrules/`, and the content of the `m.push_rules` account data event. */
export interface PushRulesContent {
  global?: PushRuleset
}

/** `PUT /pushrules/global/{kind}/{ruleId}`. */
export interface PushRuleBody {
  actions: unknown[]
  conditions?: PushCondition[]
  pattern?: string
}
