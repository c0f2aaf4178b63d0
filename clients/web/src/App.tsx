import { useEffect, useState } from 'react'
import { MatrixClient } from './api/client'
import { clearSession, loadSession, saveSession, type Session } from './api/session'
import { ControllerContext } from './app/context'
import { ChatController } from './app/controller'
import { browserNotifier, registerServiceWorker } from './app/notifications'
import { selectRoom } from './app/route'
import { TokenManager } from './auth/tokenManager'
import { AuthScreen } from './screens/AuthScreen'
import { ChatScreen } from './screens/ChatScreen'

export default function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession())
  const [notice, setNotice] = useState<string | null>(null)

  if (!session) {
    return (
      <AuthScreen
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s)
          setNotice(null)
          setSession(s)
        }}
      />
    )
  }

  const endSession = (message: string | null) => {
    clearSession()
    setNotice(message)
    setSession(null)
    history.replaceState(null, '', window.location.pathname + window.location.search)
  }

  return <SignedIn key={session.accessToken} session={session} onEnded={endSession} />
}

function SignedIn({ session, onEnded }: { session: Session; onEnded: (message: string | null) => void }) {
  const [{ controller, tokens, end }] = useState(() => {
    // The session ends once, with the first reason given (the token manager's is the most precise).
    let ended = false
    const end = (message: string | null) => {
      if (ended) return
      ended = true
      onEnded(message)
    }
    // OAuth sessions refresh their access token; password sessions have a long-lived one.
    const tokens = session.oauth && session.refreshToken ? new TokenManager({ session, onEnded: end }) : null
    const controller = new ChatController({
      client: new MatrixClient({ baseUrl: session.baseUrl, accessToken: session.accessToken, tokens }),
      userId: session.userId,
      onSessionEnded: (reason) => end(reason),
      notifier: browserNotifier(selectRoom),
    })
    return { controller, tokens, end }
  })

  useEffect(() => {
    // The worker shows notifications (and, later, Web Push); registering asks nothing of the user.
    void registerServiceWorker()
    tokens?.start()
    controller.start()
    return () => {
      controller.stop()
      tokens?.stop()
    }
  }, [controller, tokens])

  async function signOut() {
    let message = 'You have signed out.'
    try {
      await controller.logout()
    } catch {
      // Even if the server can't be told, forget the session locally.
      message = 'You have signed out here, but the server could not be reached to end the session. You can end it later from your sessions page.'
    }
    end(message)
  }

  return (
    <ControllerContext.Provider value={controller}>
      <ChatScreen onSignOut={signOut} accountUri={session.oauth?.accountUri} />
    </ControllerContext.Provider>
  )
}
