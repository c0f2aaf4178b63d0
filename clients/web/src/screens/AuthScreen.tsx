import { useEffect, useRef, useState } from 'react'
import { MatrixError, NetworkError } from '../api/errors'
import type { Session } from '../api/session'
import { discoverAuth, UnusableMetadataError, type AuthMetadata } from '../auth/metadata'
import {
  authorizationUrl,
  completeAuthorization,
  parseAuthorizationResponse,
  redirectUriFor,
  signInErrorMessage,
  type AuthorizationResponse,
} from '../auth/oauth'
import { Button, ErrorText, Spinner } from '../components/ui'
import { AuthCard, Notice } from './AuthCard'
import { PasswordAuth } from './PasswordAuth'

type Discovery =
  | { state: 'loading' }
  | { state: 'oauth'; meta: AuthMetadata }
  /** `auth_metadata` answered 404: this server signs in with a password. */
  | { state: 'password' }
  | { state: 'failed'; message: string }

// One code exchange per state, even if the effect runs twice (StrictMode):
// a code used twice makes the server revoke what it gave.
const exchanges = new Map<string, Promise<Session>>()

function finishSignIn(response: AuthorizationResponse): Promise<Session> {
  let p = exchanges.get(response.state)
  if (!p) {
    p = completeAuthorization(response)
    exchanges.set(response.state, p)
  }
  return p
}

function discoveryFailure(e: unknown): string {
  if (e instanceof NetworkError) return "Can't reach the server. Check your connection and try again."
  if (e instanceof UnusableMetadataError) return `Signing in isn't possible: ${e.message}`
  if (e instanceof MatrixError) {
    if (e.errcode === 'M_LIMIT_EXCEEDED') return 'Too many requests. Please wait a moment and try again.'
    if (e.httpStatus >= 500) return 'The server had a problem. Please try again in a moment.'
  }
  return signInErrorMessage(e)
}

/** What the server offers: OAuth (its metadata), passwords only (404), or nothing reachable. */
function loadDiscovery(): Promise<Discovery> {
  return discoverAuth('').then(
    (meta): Discovery => (meta ? { state: 'oauth', meta } : { state: 'password' }),
    (e: unknown): Discovery => ({ state: 'failed', message: discoveryFailure(e) }),
  )
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/**
 * Signed out: sign in or create an account on the server's own pages
 * (OAuth 2.0 authorization code + PKCE), and finish the sign-in when the
 * browser comes back with the code. Servers without OAuth get the password form.
 */
export function AuthScreen({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice?: string | null }) {
  // Coming back from the server's sign-in page: the answer is in the URL (read once).
  const [callback] = useState(() => parseAuthorizationResponse(window.location.href))
  const [completing, setCompleting] = useState(callback !== null)
  const [discovery, setDiscovery] = useState<Discovery>({ state: 'loading' })
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<'login' | 'create' | null>(null)

  const signedIn = useRef(onSignedIn)
  useEffect(() => {
    signedIn.current = onSignedIn
  })

  useEffect(() => {
    let live = true
    const discover = () =>
      void loadDiscovery().then((d) => {
        if (live) setDiscovery(d)
      })
    if (!callback) {
      discover()
    } else {
      // The code must not stay in the address bar or the history.
      history.replaceState(history.state, '', callback.cleanUrl)
      finishSignIn(callback.response).then(
        (session) => {
          if (live) signedIn.current(session)
        },
        (e: unknown) => {
          if (!live) return
          setError(signInErrorMessage(e))
          setCompleting(false)
          discover()
        },
      )
    }
    return () => {
      live = false
    }
  }, [callback])

  // Back from the server's page without signing in (back button, page restored from the cache).
  useEffect(() => {
    const onPageShow = (e: PageTransitionEvent) => {
      if (e.persisted) setBusy(null)
    }
    window.addEventListener('pageshow', onPageShow)
    return () => window.removeEventListener('pageshow', onPageShow)
  }, [])

  async function go(prompt?: 'create') {
    setError(null)
    setBusy(prompt ?? 'login')
    try {
      // Asked again (not cached): is the server up, and does it still sign in with OAuth?
      const meta = await discoverAuth('')
      if (!meta) {
        setDiscovery({ state: 'password' })
        setBusy(null)
        return
      }
      setDiscovery({ state: 'oauth', meta })
      if (originOf(meta.issuer) !== window.location.origin) {
        setBusy(null)
        return
      }
      window.location.assign(await authorizationUrl(meta, { redirectUri: redirectUriFor(window.location), prompt }))
    } catch (e) {
      setError(discoveryFailure(e))
      setBusy(null)
    }
  }

  if (completing) {
    return (
      <AuthCard title="Signing in">
        <Spinner label="Finishing signing in…" />
      </AuthCard>
    )
  }

  if (discovery.state === 'password') return <PasswordAuth onSignedIn={onSignedIn} notice={notice ?? error} />

  const meta = discovery.state === 'oauth' ? discovery.meta : null
  const canCreate = meta ? (meta.prompt_values_supported ?? []).includes('create') : false
  const wrongOrigin = meta && originOf(meta.issuer) !== window.location.origin ? originOf(meta.issuer) : null
  const shownError = error ?? (discovery.state === 'failed' ? discovery.message : null)

  return (
    <AuthCard title="Sign in">
      <Notice>{notice}</Notice>
      <div className="flex flex-col gap-4">
        <ErrorText>{shownError}</ErrorText>
        {discovery.state === 'loading' && <Spinner label="Contacting the server…" />}
        {discovery.state === 'failed' && !busy && (
          <Button variant="secondary" className="w-full py-2.5" onClick={() => {
              setError(null)
              setDiscovery({ state: 'loading' })
              void loadDiscovery().then(setDiscovery)
            }}
          >
            Try again
          </Button>
        )}
        {wrongOrigin && (
          <p className="rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
            This server signs people in at {wrongOrigin}.{' '}
            <a className="font-medium underline" href={`${wrongOrigin}/`}>
              Open the app there
            </a>{' '}
            to sign in.
          </p>
        )}
        {meta && !wrongOrigin && (
          <>
            <p className="text-sm text-gray-600 dark:text-gray-400">
              You sign in on the server's own page, then come straight back here.
            </p>
            <Button className="w-full py-2.5" disabled={busy !== null} onClick={() => void go()}>
              {busy === 'login' ? 'Opening the sign-in page…' : 'Sign in'}
            </Button>
            {canCreate && (
              <Button variant="secondary" className="w-full py-2.5" disabled={busy !== null} onClick={() => void go('create')}>
                {busy === 'create' ? 'Opening the sign-up page…' : 'Create account'}
              </Button>
            )}
          </>
        )}
        {meta?.account_management_uri && notice && (
          <p className="text-center text-sm text-gray-600 dark:text-gray-400">
            On a shared computer, also sign out of the server's pages:{' '}
            <a
              className="font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300"
              href={meta.account_management_uri}
            >
              your sessions
            </a>
            .
          </p>
        )}
      </div>
    </AuthCard>
  )
}
