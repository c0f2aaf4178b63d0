import { describe, expect, it } from 'vitest'
import { NetworkError } from '../api/errors'
import { discoverAuth, UnusableMetadataError } from './metadata'
import {
  authorizationUrl,
  chooseResponseMode,
  completeAuthorization,
  OAuthError,
  parseAuthorizationResponse,
  PENDING_LIFETIME_MS,
  SignInError,
  signInErrorMessage,
  takePending,
  type PendingAuthorization,
} from './oauth'
import { codeChallengeS256 } from './pkce'
import { memoryStorage, META, scriptedFetch } from './testing'

function pendingIn(storage: ReturnType<typeof memoryStorage>): Record<string, PendingAuthorization> {
  return JSON.parse(storage.data.get('hs.oauth.pending') ?? '{}') as Record<string, PendingAuthorization>
}

describe('discovery', () => {
  it('reads auth_metadata; 404 means password sign-in; a failed fetch is a NetworkError', async () => {
    const ok = scriptedFetch(() => ({ status: 200, body: META }))
    expect(await discoverAuth('', ok.fetch)).toMatchObject({ issuer: 'http://hs.test', token_endpoint: META.token_endpoint })
    expect(ok.calls[0].url).toBe('/_matrix/client/v1/auth_metadata')

    const off = scriptedFetch(() => ({ status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'OAuth 2.0 is off' } }))
    expect(await discoverAuth('', off.fetch)).toBeNull()

    const down = scriptedFetch(() => {
      throw new TypeError('Failed to fetch')
    })
    await expect(discoverAuth('', down.fetch)).rejects.toBeInstanceOf(NetworkError)
    const gateway = scriptedFetch(() => ({ status: 502 }))
    await expect(discoverAuth('', gateway.fetch)).rejects.toBeInstanceOf(NetworkError)
  })

  it('refuses metadata without S256 PKCE', async () => {
    const plain = scriptedFetch(() => ({ status: 200, body: { ...META, code_challenge_methods_supported: ['plain'] } }))
    await expect(discoverAuth('', plain.fetch)).rejects.toBeInstanceOf(UnusableMetadataError)
  })
})

describe('authorization request', () => {
  it('sends web-client with PKCE S256, a new device in the scope, and keeps state + verifier for the way back', async () => {
    const storage = memoryStorage()
    const href = await authorizationUrl(META, { redirectUri: 'http://hs.test/', storage, now: 1000 })
    const url = new URL(href)
    expect(url.origin + url.pathname).toBe(META.authorization_endpoint)
    const q = Object.fromEntries(url.searchParams)
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: 'web-client',
      redirect_uri: 'http://hs.test/',
      response_mode: 'query',
      code_challenge_method: 'S256',
    })
    expect(q.prompt).toBeUndefined()
    const [api, device, ...rest] = q.scope.split(' ')
    expect(api).toBe('urn:matrix:client:api:*')
    expect(device).toMatch(/^urn:matrix:client:device:[A-Z0-9]{12}$/)
    expect(rest).toEqual([])

    const pending = pendingIn(storage)[q.state]
    expect(pending).toMatchObject({
      state: q.state,
      redirectUri: 'http://hs.test/',
      tokenEndpoint: META.token_endpoint,
      deviceId: device.slice('urn:matrix:client:device:'.length),
      createdAt: 1000,
    })
    // The challenge sent is the S256 of the verifier kept (which never leaves the browser).
    expect(q.code_challenge).toBe(await codeChallengeS256(pending.codeVerifier))
    expect(href).not.toContain(pending.codeVerifier)
  })

  it('asks for the sign-up page with prompt=create, and every sign-in gets its own state and device', async () => {
    const storage = memoryStorage()
    const a = new URL(await authorizationUrl(META, { redirectUri: 'http://hs.test/', prompt: 'create', storage }))
    const b = new URL(await authorizationUrl(META, { redirectUri: 'http://hs.test/', storage }))
    expect(a.searchParams.get('prompt')).toBe('create')
    expect(a.searchParams.get('state')).not.toBe(b.searchParams.get('state'))
    expect(a.searchParams.get('scope')).not.toBe(b.searchParams.get('scope'))
    expect(Object.keys(pendingIn(storage))).toHaveLength(2)
  })

  it('uses the fragment for https redirect URIs, the query otherwise, within what the server offers', () => {
    expect(chooseResponseMode(META, 'https://chat.example/')).toBe('fragment')
    expect(chooseResponseMode(META, 'http://127.0.0.1:8008/')).toBe('query')
    expect(chooseResponseMode({ ...META, response_modes_supported: ['query'] }, 'https://chat.example/')).toBe('query')
    expect(chooseResponseMode({ ...META, response_modes_supported: undefined }, 'https://chat.example/')).toBe('fragment')
  })
})

describe('the way back', () => {
  it('finds the response in the query or a fragment, never in an app route, and gives the URL without it', () => {
    expect(parseAuthorizationResponse('http://hs.test/?code=c1&state=s1')).toEqual({
      response: { state: 's1', code: 'c1', error: undefined, errorDescription: undefined, iss: undefined },
      cleanUrl: '/',
    })
    expect(parseAuthorizationResponse('https://hs.test/#code=c2&state=s2')).toMatchObject({
      response: { state: 's2', code: 'c2' },
      cleanUrl: '/',
    })
    expect(parseAuthorizationResponse('http://hs.test/?error=access_denied&error_description=no&state=s3&x=1')).toMatchObject({
      response: { state: 's3', error: 'access_denied', errorDescription: 'no' },
      cleanUrl: '/?x=1',
    })
    expect(parseAuthorizationResponse('http://hs.test/#/room/!a:hs.test')).toBeNull()
    expect(parseAuthorizationResponse('http://hs.test/?code=c1')).toBeNull()
    expect(parseAuthorizationResponse('http://hs.test/')).toBeNull()
  })

  async function started() {
    const storage = memoryStorage()
    const url = new URL(await authorizationUrl(META, { redirectUri: 'http://hs.test/', storage, now: Date.now() }))
    const state = url.searchParams.get('state')!
    const pending = pendingIn(storage)[state]
    return { storage, state, pending }
  }

  function server(opts: { token?: { status: number; body?: unknown } } = {}) {
    return scriptedFetch((req) => {
      if (req.url === META.token_endpoint) {
        return opts.token ?? { status: 200, body: { access_token: 'at1', refresh_token: 'rt1', expires_in: 300, token_type: 'Bearer' } }
      }
      if (req.url.endsWith('/account/whoami')) return { status: 200, body: { user_id: '@ana:hs.test', device_id: 'DEV' } }
      if (req.url === META.revocation_endpoint) return { status: 200, body: {} }
      return { status: 404, body: { errcode: 'M_UNRECOGNIZED' } }
    })
  }

  it('exchanges the code with its verifier and returns the session with refresh token and expiry', async () => {
    const { storage, state, pending } = await started()
    const { fetch, calls } = server()
    const session = await completeAuthorization({ state, code: 'the-code' }, { storage, fetch, now: () => 5000 })
    expect(calls[0].url).toBe(META.token_endpoint)
    expect(calls[0].headers['Content-Type']).toBe('application/x-www-form-urlencoded')
    expect(calls[0].form).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: 'http://hs.test/',
      client_id: 'web-client',
      code_verifier: pending.codeVerifier,
    })
    expect(calls[1].url).toBe('/_matrix/client/v3/account/whoami')
    expect(calls[1].headers.Authorization).toBe('Bearer at1')
    expect(session).toEqual({
      userId: '@ana:hs.test',
      deviceId: 'DEV',
      accessToken: 'at1',
      refreshToken: 'rt1',
      expiresAt: 5000 + 300_000,
      baseUrl: '',
      oauth: {
        issuer: META.issuer,
        clientId: 'web-client',
        tokenEndpoint: META.token_endpoint,
        revocationEndpoint: META.revocation_endpoint,
        accountUri: META.account_management_uri,
      },
    })
    expect(pendingIn(storage)).toEqual({})
  })

  it('rejects a state it did not issue without sending the code anywhere', async () => {
    const { storage } = await started()
    const { fetch, calls } = server()
    const err = await completeAuthorization({ state: 'forged', code: 'stolen' }, { storage, fetch }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SignInError)
    expect(err).toMatchObject({ code: 'state_mismatch' })
    expect(signInErrorMessage(err)).toMatch(/sign in again/)
    expect(calls).toEqual([])
  })

  it('uses a state once: the same response twice is refused the second time', async () => {
    const { storage, state } = await started()
    const { fetch, calls } = server()
    await completeAuthorization({ state, code: 'c' }, { storage, fetch })
    await expect(completeAuthorization({ state, code: 'c' }, { storage, fetch })).rejects.toMatchObject({ code: 'state_mismatch' })
    expect(calls.filter((c) => c.url === META.token_endpoint)).toHaveLength(1)
  })

  it('forgets sign-ins started too long ago', async () => {
    const { storage, state } = await started()
    expect(takePending(state, storage, Date.now() + PENDING_LIFETIME_MS + 1)).toBeNull()
  })

  it('reports an error sent back (cancelled) in words, without a token request', async () => {
    const { storage, state } = await started()
    const { fetch, calls } = server()
    const err = await completeAuthorization({ state, error: 'access_denied' }, { storage, fetch }).catch((e: unknown) => e)
    expect(signInErrorMessage(err)).toBe('Sign-in was cancelled.')
    expect(calls).toEqual([])
  })

  it('explains a used or expired code and an unreachable server', async () => {
    const first = await started()
    const used = server({ token: { status: 400, body: { error: 'invalid_grant' } } })
    const e1 = await completeAuthorization({ state: first.state, code: 'c' }, { storage: first.storage, fetch: used.fetch }).catch(
      (e: unknown) => e,
    )
    expect(e1).toBeInstanceOf(OAuthError)
    expect(signInErrorMessage(e1)).toBe('This sign-in has expired or was already used. Please sign in again.')

    const second = await started()
    const down = scriptedFetch(() => {
      throw new TypeError('Failed to fetch')
    })
    const e2 = await completeAuthorization({ state: second.state, code: 'c' }, { storage: second.storage, fetch: down.fetch }).catch(
      (e: unknown) => e,
    )
    expect(e2).toBeInstanceOf(NetworkError)
    expect(signInErrorMessage(e2)).toBe("Can't reach the server. Check your connection and try again.")
  })

  it('refuses tokens for another device than the one asked for, and revokes them', async () => {
    const { storage, state } = await started()
    const { fetch, calls } = server({
      token: { status: 200, body: { access_token: 'at', refresh_token: 'rt', expires_in: 300, scope: 'urn:matrix:client:api:* urn:matrix:client:device:OTHER' } },
    })
    await expect(completeAuthorization({ state, code: 'c' }, { storage, fetch })).rejects.toMatchObject({ code: 'invalid_scope' })
    await Promise.resolve()
    expect(calls.map((c) => c.url)).toContain(META.revocation_endpoint)
  })
})
