import { useState, type FormEvent } from 'react'
import { MatrixClient } from '../api/client'
import type { Session } from '../api/session'
import { Button, ErrorText, TextField } from '../components/ui'
import { authErrorMessage } from './authErrors'

type Mode = 'login' | 'register'

export function AuthScreen({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice?: string | null }) {
  const [mode, setMode] = useState<Mode>('login')
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [confirm, setConfirm] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const switchMode = (m: Mode) => {
    setMode(m)
    setError(null)
    setConfirm('')
  }

  async function submit(e: FormEvent) {
    e.preventDefault()
    setError(null)
    const user = username.trim()
    if (!user || !password) {
      setError('Please enter a username and a password.')
      return
    }
    if (mode === 'register' && password !== confirm) {
      setError('The passwords do not match.')
      return
    }
    setBusy(true)
    const client = new MatrixClient({ baseUrl: '' })
    const deviceName = 'Web client'
    try {
      let session: Session
      if (mode === 'login') {
        const res = await client.login(user, password, deviceName)
        session = { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, baseUrl: '' }
      } else {
        const res = await client.register(user, password, deviceName)
        if (res.access_token && res.device_id) {
          session = { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, baseUrl: '' }
        } else {
          const l = await client.login(user, password, deviceName)
          session = { userId: l.user_id, accessToken: l.access_token, deviceId: l.device_id, baseUrl: '' }
        }
      }
      onSignedIn(session)
    } catch (err) {
      setError(authErrorMessage(err, mode))
      setBusy(false)
    }
  }

  const title = mode === 'login' ? 'Sign in' : 'Create account'
  return (
    <main className="flex min-h-full items-center justify-center bg-gray-50 px-4 py-10 dark:bg-gray-950">
      <div className="w-full max-w-sm rounded-2xl bg-white p-6 shadow-sm ring-1 ring-gray-200 dark:bg-gray-900 dark:ring-gray-800">
        <p className="mb-1 text-sm font-medium text-indigo-700 dark:text-indigo-300">Homeserver</p>
        <h1 className="mb-5 text-2xl font-semibold text-gray-900 dark:text-gray-50">{title}</h1>
        {notice && (
          <p role="status" className="mb-4 rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
            {notice}
          </p>
        )}
        <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
          <TextField
            label="Username"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            hint={mode === 'register' ? 'Lowercase letters, digits and . _ = - /' : undefined}
          />
          <TextField
            label="Password"
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
          {mode === 'register' && (
            <TextField
              label="Confirm password"
              name="confirm"
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
              required
            />
          )}
          <ErrorText>{error}</ErrorText>
          <Button type="submit" disabled={busy} className="w-full py-2.5">
            {busy ? (mode === 'login' ? 'Signing in…' : 'Creating account…') : title}
          </Button>
        </form>
        <p className="mt-5 text-center text-sm text-gray-600 dark:text-gray-400">
          {mode === 'login' ? 'New here? ' : 'Already have an account? '}
          <button
            type="button"
            onClick={() => switchMode(mode === 'login' ? 'register' : 'login')}
            className="font-medium text-indigo-700 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
          >
            {mode === 'login' ? 'Create an account' : 'Sign in'}
          </button>
        </p>
      </div>
    </main>
  )
}
