import type { ReactNode } from 'react'

/** The frame of the signed-out screens: a centred card with the title. */
export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-full items-center justify-center bg-gray-50 px-4 py-10 dark:bg-gray-950">
      <div className="w-full max-w-sm rounded-2xl bg-white p-6 shadow-sm ring-1 ring-gray-200 dark:bg-gray-900 dark:ring-gray-800">
        <p className="mb-1 text-sm font-medium text-indigo-700 dark:text-indigo-300">Homeserver</p>
        <h1 className="mb-5 text-2xl font-semibold text-gray-900 dark:text-gray-50">{title}</h1>
        {children}
      </div>
    </main>
  )
}

/** Why the user is here (signed out, session ended): polite, not an error. */
export function Notice({ children }: { children: ReactNode }) {
  if (!children) return null
  return (
    <p role="status" className="mb-4 rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
      {children}
    </p>
  )
}
