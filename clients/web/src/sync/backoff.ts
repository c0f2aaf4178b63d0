export interface BackoffOptions {
  /** Delay after the first failure (ms). */
  initialMs: number
  /** Upper bound of the delay (ms). */
  maxMs: number
  /** Growth factor between consecutive failures. */
  factor: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, factor: 2 }

/**
 * Delay before retrying after `failures` consecutive failures (1-based):
 * 1s, 2s, 4s, 8s, 16s, then 30s, 30s, …
 */
export function backoffDelay(failures: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0
  const d = opts.initialMs * Math.pow(opts.factor, failures - 1)
  return Math.min(opts.maxMs, Math.round(d))
}
