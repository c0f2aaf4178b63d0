import { useEffect, useState } from 'react'
import { MatrixClient } from './api/client'
import { clearSession, loadSession, saveSession, type Session } from './api/session'
import { ControllerContext } from './app/context'
import { ChatController } from './app/controller'
import { browserNotifier, registerServiceWorker } from './app/notifications'
import { selectRoom } from './app/route'
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
  const [controller] = useState(
    () =>
      new ChatController({
        client: new MatrixClient({ baseUrl: session.baseUrl, accessToken: session.accessToken }),
        userId: session.userId,
        onSessionEnded: (reason) => onEnded(reason),
        notifier: browserNotifier(selectRoom),
      }),
  )

  useEffect(() => {
    // The worker shows notifications (and, later, Web Push); registering asks nothing of the user.
    void registerServiceWorker()
    controller.start()
    return () => controller.stop()
  }, [controller])

  async function signOut() {
    try {
      await controller.logout()
    } catch {
      // Even if the server can't be told, forget the session locally.
    }
    onEnded(null)
  }

  return (
    <ControllerContext.Provider value={controller}>
      <ChatScreen onSignOut={signOut} />
    </ControllerContext.Provider>
  )
}
