/**
 * A minimal observable store (no React): holds an immutable state, applies
 * actions through a pure reducer and notifies subscribers. React reads it
 * with useSyncExternalStore; other producers (sync transports, and later
 * typing / receipts / presence streams) just dispatch actions.
 */
export interface Store<S, A> {
  getState(): S
  dispatch(action: A): void
  subscribe(listener: () => void): () => void
}

export function createStore<S, A>(reducer: (s: S, a: A) => S, initial: S): Store<S, A> {
  let state = initial
  const listeners = new Set<() => void>()
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action)
      if (next === state) return
      state = next
      for (const l of [...listeners]) l()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
