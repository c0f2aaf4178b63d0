import type { SyncResponse } from '../api/types'

export interface SyncRequest {
  /** `next_batch` of the previous response; absent for an initial sync. */
  since?: string
  /** How long the server may hold the request open when it has nothing new (ms). */
  timeout: number
}

/**
 * Where sync batches come from. The long-poll HTTP transport is the first
 * implementation; a WebSocket stream can implement the same interface by
 * resolving `next` with the next pushed batch.
 *
 * `next` must reject with an AbortError when `signal` is aborted, and with
 * any other error when the batch could not be fetched (the loop backs off and
 * retries with the same `since`).
 */
export interface SyncTransport {
  next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse>
  /**
   * `response` (the last one `next` returned) has been applied and its
   * `next_batch` stored: a stream transport acknowledges it now.
   */
  ack?(response: SyncResponse): void
  /** Release resources (sockets); called when the loop stops. */
  close?(): void
}
