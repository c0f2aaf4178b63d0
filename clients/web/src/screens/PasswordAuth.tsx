import { useState, type FormEvent } from 'react'
import { MatrixClient } from '../api/client'
import type { Session } from '../api/session'
import { Button, ErrorText, TextField } from '../components/ui'
import { AuthCard, Notice } from './AuthCard'
import { authErrorMessage } from './authErrors'

type Mode = 'login' | 'register'

/**
 * Password sign-in and sign-up (`/login`, `/register`): only for servers
 * without OAuth 2.0 (`auth_metadata` answers 404).
 */
export function PasswordAuth({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice?: string | null }) {
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
    <AuthCard title={title}>
      <Notice>{notice}</Notice>
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
    </AuthCard>
  )
}
