import { MatrixError, NetworkError, isAbortError, isSoftLogout } from './errors'
import type {
  CapabilitiesResponse,
  CreateRoomRequest,
  DirectContent,
  JoinedMembersResponse,
  JsonObject,
  LoginResponse,
  MatrixEvent,
  MessagesResponse,
  PresenceContent,
  Profile,
  PublicRoomsResponse,
  Pusher,
  PusherSetRequest,
  PushRuleBody,
  PushRuleKind,
  PushRulesContent,
  RegisterResponse,
  SyncResponse,
  TextMessageContent,
  UiaResponse,
  UserDirectoryResponse,
} from './types'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface ClientOptions {
  /** Base URL of the homeserver; '' means the page's own origin. */
  baseUrl?: string
  accessToken?: string | null
  /** Where the access token of an OAuth session comes from (then `accessToken` is ignored). */
  tokens?: TokenProvider | null
  fetch?: FetchLike
}

/** The access token of a session that refreshes (auth/tokenManager.ts). */
export interface TokenProvider {
  /** The token as of now (maybe expired). */
  readonly current: string | null
  /** The token to send now: refreshed first when it is about to expire. */
  accessToken(): Promise<string | null>
  /** `rejected` was refused as expired (soft logout): a new one, one refresh shared by every caller. */
  refreshAfter(rejected: string): Promise<string>
  /** Ends the session at the authorization server; false when it can't (then /logout is used). */
  signOut?(): Promise<boolean>
  /** Called after each refresh; returns the unsubscribe function. */
  onRefresh?(listener: () => void): () => void
}

interface RequestOptions {
  query?: Record<string, string | number | undefined>
  body?: unknown
  signal?: AbortSignal
  /** Send the access token (default true). */
  auth?: boolean
  /** Path prefix (default the client API's /_matrix/client/v3). */
  prefix?: string
}

const PREFIX = '/_matrix/client/v3'

const enc = encodeURIComponent

/**
 * A small typed Matrix client-server API client. Every method maps to one
 * HTTP call; errors are thrown as {@link MatrixError} (server answered with an
 * error) or {@link NetworkError} (server unreachable). Aborts propagate as the
 * platform's AbortError.
 */
export class MatrixClient {
  readonly baseUrl: string
  readonly tokens: TokenProvider | null
  private fixedToken: string | null
  private readonly fetchImpl: FetchLike

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '')
    this.fixedToken = options.accessToken ?? null
    this.tokens = options.tokens ?? null
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  /** The current access token (with a token provider: its latest one). */
  get accessToken(): string | null {
    return this.tokens ? this.tokens.current : this.fixedToken
  }

  set accessToken(token: string | null) {
    this.fixedToken = token
  }

  /** The access token to send now (a token provider refreshes it first when it is about to expire). */
  getAccessToken(): Promise<string | null> {
    return this.tokens ? this.tokens.accessToken() : Promise.resolve(this.fixedToken)
  }

  /**
   * One API call. With a token provider, an access token refused as expired
   * (`M_UNKNOWN_TOKEN` with `soft_logout: true`) is refreshed (one refresh
   * for all concurrent calls) and the call is made once more.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const token = opts.auth !== false ? await this.getAccessToken() : null
    try {
      return await this.send<T>(method, path, opts, token)
    } catch (e) {
      if (!token || !this.tokens || !isSoftLogout(e)) throw e
      return this.send<T>(method, path, opts, await this.tokens.refreshAfter(token))
    }
  }

  private async send<T>(method: string, path: string, opts: RequestOptions, token: string | null): Promise<T> {
    let url = this.baseUrl + (opts.prefix ?? PREFIX) + path
    if (opts.query) {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(opts.query)) {
        if (v !== undefined) params.set(k, String(v))
      }
      const qs = params.toString()
      if (qs) url += '?' + qs
    }
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (token) headers.Authorization = `Bearer ${token}`
    let body: string | undefined
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.body)
    }

    let response: Response
    try {
      response = await this.fetchImpl(url, { method, headers, body, signal: opts.signal })
    } catch (e) {
      if (isAbortError(e)) throw e
      throw new NetworkError("Can't reach the server", { cause: e })
    }

    let data: unknown = undefined
    const text = await response.text().catch((e: unknown) => {
      if (isAbortError(e)) throw e
      return ''
    })
    if (text) {
      try {
        data = JSON.parse(text)
      } catch {
        data = undefined
      }
    }
    if (!response.ok) {
      const obj = (data && typeof data === 'object' ? data : {}) as JsonObject
      const errcode = typeof obj.errcode === 'string' ? obj.errcode : httpErrcode(response.status)
      const message =
        typeof obj.error === 'string' ? obj.error : `${response.status} ${response.statusText}`.trim()
      // Gateways answering 502/503/504 mean the homeserver itself is unreachable.
      if (data === undefined && response.status >= 502 && response.status <= 504) {
        throw new NetworkError(`Server unavailable (${response.status})`)
      }
      throw new MatrixError(response.status, errcode, message, obj)
    }
    if (data === undefined) {
      if (!text) return {} as T
      throw new MatrixError(response.status, 'M_BAD_JSON', 'The server sent an invalid response')
    }
    return data as T
  }

  // ---- Authentication ----------------------------------------------------

  login(username: string, password: string, deviceName = 'Web client'): Promise<LoginResponse> {
    return this.request<LoginResponse>('POST', '/login', {
      auth: false,
      body: {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: username },
        password,
        initial_device_display_name: deviceName,
      },
    })
  }

  /**
   * Registers with user-interactive auth: the first call is expected to answer
   * 401 with a `session`; the call is then repeated with `m.login.dummy`.
   */
  async register(username: string, password: string, deviceName = 'Web client'): Promise<RegisterResponse> {
    const body: JsonObject = { username, password, initial_device_display_name: deviceName }
    try {
      return await this.request<RegisterResponse>('POST', '/register', { auth: false, body })
    } catch (e) {
      if (!(e instanceof MatrixError) || e.httpStatus !== 401 || typeof e.data.session !== 'string') {
        throw e
      }
      const uia = e.data as UiaResponse
      const offersDummy =
        !uia.flows || uia.flows.length === 0 || uia.flows.some((f) => f.stages.includes('m.login.dummy'))
      if (!offersDummy) {
        throw new MatrixError(401, 'M_UNSUPPORTED_FLOW', 'This server requires a sign-up step this client does not support')
      }
      return this.request<RegisterResponse>('POST', '/register', {
        auth: false,
        body: { ...body, auth: { type: 'm.login.dummy', session: uia.session } },
      })
    }
  }

  /** Signs this session out: OAuth sessions revoke their refresh token, others use /logout. */
  async logout(): Promise<void> {
    if (this.tokens?.signOut && (await this.tokens.signOut())) return
    await this.request<JsonObject>('POST', '/logout', { body: {} })
  }

  // ---- Sync ------------------------------------------------------------

  sync(
    params: { since?: string; timeout?: number; filter?: string; setPresence?: string },
    signal?: AbortSignal,
  ): Promise<SyncResponse> {
    return this.request<SyncResponse>('GET', '/sync', {
      query: {
        since: params.since,
        timeout: params.timeout,
        filter: params.filter,
        set_presence: params.setPresence,
      },
      signal,
    })
  }

  // ---- Rooms -----------------------------------------------------------

  createRoom(req: CreateRoomRequest): Promise<{ room_id: string; room_alias?: string }> {
    return this.request('POST', '/createRoom', { body: req })
  }

  joinRoom(roomIdOrAlias: string): Promise<{ room_id: string }> {
    return this.request('POST', `/join/${enc(roomIdOrAlias)}`, { body: {} })
  }

  leaveRoom(roomId: string): Promise<void> {
    return this.request('POST', `/rooms/${enc(roomId)}/leave`, { body: {} }).then(() => undefined)
  }

  invite(roomId: string, userId: string): Promise<void> {
    return this.request('POST', `/rooms/${enc(roomId)}/invite`, { body: { user_id: userId } }).then(
      () => undefined,
    )
  }

  sendMessage(roomId: string, txnId: string, content: TextMessageContent | JsonObject): Promise<{ event_id: string }> {
    return this.sendEvent(roomId, 'm.room.message', txnId, content)
  }

  sendEvent(roomId: string, type: string, txnId: string, content: JsonObject | TextMessageContent): Promise<{ event_id: string }> {
    return this.request('PUT', `/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`, { body: content })
  }

  messages(
    roomId: string,
    params: { from?: string; dir?: 'b' | 'f'; limit?: number; to?: string },
    signal?: AbortSignal,
  ): Promise<MessagesResponse> {
    return this.request('GET', `/rooms/${enc(roomId)}/messages`, {
      query: { from: params.from, dir: params.dir ?? 'b', limit: params.limit ?? 30, to: params.to },
      signal,
    })
  }

  /** Full-text search (`room_events`); `nextBatch` continues an earlier answer. */
  search(body: JsonObject, nextBatch?: string, signal?: AbortSignal): Promise<unknown> {
    return this.request('POST', '/search', { query: { next_batch: nextBatch }, body, signal })
  }

  /** An event with the events around it (`limit` in all). */
  context(roomId: string, eventId: string, limit = 10, signal?: AbortSignal): Promise<{ event?: MatrixEvent; start?: string; end?: string }> {
    return this.request('GET', `/rooms/${enc(roomId)}/context/${enc(eventId)}`, { query: { limit }, signal })
  }

  /** Read receipt (`m.read`, `m.read.private`) or read marker (`m.fully_read`). */
  sendReceipt(roomId: string, eventId: string, receiptType = 'm.read'): Promise<void> {
    return this.request('POST', `/rooms/${enc(roomId)}/receipt/${enc(receiptType)}/${enc(eventId)}`, { body: {} }).then(
      () => undefined,
    )
  }

  setTyping(roomId: string, userId: string, typing: boolean, timeoutMs?: number): Promise<void> {
    const body: JsonObject = { typing }
    if (typing && timeoutMs !== undefined) body.timeout = timeoutMs
    return this.request('PUT', `/rooms/${enc(roomId)}/typing/${enc(userId)}`, { body }).then(() => undefined)
  }

  getPresence(userId: string): Promise<PresenceContent> {
    return this.request('GET', `/presence/${enc(userId)}/status`)
  }

  setPresence(userId: string, presence: 'online' | 'unavailable' | 'offline', statusMsg?: string): Promise<void> {
    const body: JsonObject = { presence }
    if (statusMsg !== undefined) body.status_msg = statusMsg
    return this.request('PUT', `/presence/${enc(userId)}/status`, { body }).then(() => undefined)
  }

  redact(roomId: string, eventId: string, txnId: string, reason?: string): Promise<{ event_id: string }> {
    return this.request('PUT', `/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(txnId)}`, {
      body: reason ? { reason } : {},
    })
  }

  joinedMembers(roomId: string): Promise<JoinedMembersResponse> {
    return this.request('GET', `/rooms/${enc(roomId)}/joined_members`)
  }

  publicRooms(params: { limit?: number; since?: string } = {}): Promise<PublicRoomsResponse> {
    return this.request('GET', '/publicRooms', { query: { limit: params.limit, since: params.since } })
  }

  // ---- Users -----------------------------------------------------------

  searchUsers(searchTerm: string, limit = 20, signal?: AbortSignal): Promise<UserDirectoryResponse> {
    return this.request('POST', '/user_directory/search', { body: { search_term: searchTerm, limit }, signal })
  }

  getProfile(userId: string): Promise<Profile> {
    return this.request('GET', `/profile/${enc(userId)}`)
  }

  setDisplayName(userId: string, displayname: string): Promise<void> {
    return this.request('PUT', `/profile/${enc(userId)}/displayname`, { body: { displayname } }).then(() => undefined)
  }

  setAvatarUrl(userId: string, avatarUrl: string): Promise<void> {
    return this.request('PUT', `/profile/${enc(userId)}/avatar_url`, { body: { avatar_url: avatarUrl } }).then(() => undefined)
  }

  /** Sets a room state event (name, topic, avatar...). */
  setRoomState(roomId: string, type: string, content: JsonObject, stateKey = ''): Promise<{ event_id: string }> {
    return this.request('PUT', `/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { body: content })
  }

  // ---- Media -------------------------------------------------------------

  /** The media repository's settings: `m.upload.size` is the largest upload in bytes. */
  mediaConfig(): Promise<JsonObject> {
    return this.request('GET', '/config', { prefix: '/_matrix/client/v1/media' })
  }

  getAccountData<T = JsonObject>(userId: string, type: string): Promise<T> {
    return this.request('GET', `/user/${enc(userId)}/account_data/${enc(type)}`)
  }

  setAccountData(userId: string, type: string, content: JsonObject | DirectContent): Promise<void> {
    return this.request('PUT', `/user/${enc(userId)}/account_data/${enc(type)}`, { body: content }).then(
      () => undefined,
    )
  }

  // ---- Server --------------------------------------------------------------

  capabilities(): Promise<CapabilitiesResponse> {
    return this.request('GET', '/capabilities')
  }

  // ---- Push ----------------------------------------------------------------

  /** Every pusher of the user (all devices). */
  getPushers(): Promise<{ pushers: Pusher[] }> {
    return this.request('GET', '/pushers')
  }

  /** Creates, updates or (with `kind: null`) deletes a pusher. */
  setPusher(body: PusherSetRequest): Promise<void> {
    return this.request('POST', '/pushers/set', { body }).then(() => undefined)
  }

  /** All push rules (note the trailing slash: it is part of the path). */
  getPushRules(): Promise<PushRulesContent> {
    return this.request('GET', '/pushrules/')
  }

  setPushRule(kind: PushRuleKind, ruleId: string, body: PushRuleBody): Promise<void> {
    return this.request('PUT', `/pushrules/global/${kind}/${enc(ruleId)}`, { body }).then(() => undefined)
  }

  deletePushRule(kind: PushRuleKind, ruleId: string): Promise<void> {
    return this.request('DELETE', `/pushrules/global/${kind}/${enc(ruleId)}`).then(() => undefined)
  }
}

function httpErrcode(status: number): string {
  if (status === 401) return 'M_UNKNOWN_TOKEN'
  if (status === 403) return 'M_FORBIDDEN'
  if (status === 404) return 'M_NOT_FOUND'
  if (status === 429) return 'M_LIMIT_EXCEEDED'
  return 'M_UNKNOWN'
}
