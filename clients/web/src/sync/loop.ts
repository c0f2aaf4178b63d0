import { describeError, isAbortError, isAuthError, MatrixError } from '../api/errors'
import type { SyncResponse } from '../api/types'
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff'
import type { SyncTransport } from './transport'

export type SyncStatus =
  | { state: 'connecting' }
  | { state: 'online' }
  | {
      state: 'offline'
      /** Consecutive failed attempts. */
      failures: number
      /** Milliseconds until the next automatic attempt. */
      retryInMs: number
      /** When (Date.now() clock) the next attempt happens. */
      retryAt: number
      error: string
    }
  | { state: 'stopped'; error?: string }

export interface SyncLoopOptions {
  transport: SyncTransport
  /** Called with every batch, in order. */
  onBatch: (response: SyncResponse) => void
  onStatus?: (status: SyncStatus) => void
  /** Called when the loop stops because of an unrecoverable error (e.g. the token was revoked). */
  onFatal?: (error: unknown) => void
  /** Resume from this token instead of doing an initial sync. */
  since?: string | null
  /** Long-poll timeout passed to the server (ms). */
  pollTimeoutMs?: number
  backoff?: BackoffOptions
  isFatal?: (error: unknown) => boolean
}

/**
 * The sync loop: asks the transport for batch after batch, hands each to
 * `onBatch`, and on failure reports `offline` and retries after an
 * exponential back-off (reset by the first success). While retrying it asks
 * for an immediate answer (timeout 0) so reconnection is noticed at once.
 */
export class SyncLoop {
  private readonly opts: Required<Omit<SyncLoopOptions, 'since' | 'onStatus' | 'onFatal'>> &
    Pick<SyncLoopOptions, 'onStatus' | 'onFatal'>
  private since: string | null
  private running = false
  private abort: AbortController | null = null
  private wake: (() => void) | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private status: SyncStatus = { state: 'stopped' }
  private failures = 0
  /** Bumped on every start so a loop left over from before a stop() never resumes. */
  private generation = 0

  constructor(options: SyncLoopOptions) {
    this.opts = {
      transport: options.transport,
      onBatch: options.onBatch,
      onStatus: options.onStatus,
      onFatal: options.onFatal,
      pollTimeoutMs: options.pollTimeoutMs ?? 30_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      isFatal: options.isFatal ?? isAuthError,
    }
    this.since = options.since ?? null
  }

  get nextBatch(): string | null {
    return this.since
  }

  get currentStatus(): SyncStatus {
    return this.status
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.failures = 0
    this.generation += 1
    this.setStatus({ state: 'connecting' })
    void this.run(this.generation)
  }

  stop(): void {
    if (!this.running) return
    this.running = false
    this.abort?.abort()
    this.cancelWait()
    this.opts.transport.close?.()
    this.setStatus({ state: 'stopped' })
  }

  /** Skip the current back-off wait and try again now (e.g. the browser came back online). */
  retryNow(): void {
    this.cancelWait()
  }

  private cancelWait(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private setStatus(status: SyncStatus): void {
    const prev = this.status
    if (prev.state === status.state && status.state !== 'offline') return
    this.status = status
    this.opts.onStatus?.(status)
  }

  private async run(generation: number): Promise<void> {
    const alive = () => this.running && this.generation === generation
    while (alive()) {
      const controller = new AbortController()
      this.abort = controller
      let response: SyncResponse
      try {
        const timeout = this.since === null || this.failures > 0 ? 0 : this.opts.pollTimeoutMs
        response = await this.opts.transport.next({ since: this.since ?? undefined, timeout }, controller.signal)
      } catch (error) {
        if (!alive() || controller.signal.aborted) return
        if (isAbortError(error)) continue
        if (this.opts.isFatal(error)) {
          this.running = false
          this.opts.transport.close?.()
          this.setStatus({ state: 'stopped', error: describeError(error) })
          this.opts.onFatal?.(error)
          return
        }
        this.failures += 1
        let delay = backoffDelay(this.failures, this.opts.backoff)
        if (error instanceof MatrixError && error.retryAfterMs !== undefined) {
          delay = Math.max(delay, Math.min(error.retryAfterMs, this.opts.backoff.maxMs))
        }
        this.setStatus({
          state: 'offline',
          failures: this.failures,
          retryInMs: delay,
          retryAt: Date.now() + delay,
          error: describeError(error),
        })
        await this.sleep(delay)
        continue
      } finally {
        if (this.abort === controller) this.abort = null
      }
      if (!alive()) return
      this.failures = 0
      this.setStatus({ state: 'online' })
      try {
        this.opts.onBatch(response)
      } catch (e) {
        // A bug applying one batch must not stop syncing.
        console.error('Failed to apply sync batch', e)
      }
      // Only an applied batch moves the resume token (and is acknowledged):
      // a connection lost before this point resumes from the previous one.
      this.since = response.next_batch
      try {
        this.opts.transport.ack?.(response)
      } catch (e) {
        console.error('Failed to acknowledge sync batch', e)
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve
      this.timer = setTimeout(() => {
        this.timer = null
        this.wake = null
        resolve()
      }, ms)
    })
  }
}
