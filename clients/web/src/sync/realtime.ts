import { isAbortError, NetworkError } from '../api/errors'
import type { SyncResponse } from '../api/types'
import type { SyncRequest, SyncTransport } from './transport'

export type TransportMode = 'ws' | 'http'

export interface RealtimeOptions {
  /** The WebSocket stream transport. */
  ws: SyncTransport
  /** Long-poll /sync. */
  http: SyncTransport
  /** Consecutive failed socket attempts before falling back to long-poll. */
  maxSocketFailures?: number
  /** How long to long-poll before trying the socket again (ms). */
  socketRetryMs?: number
  now?: () => number
  onModeChange?: (mode: TransportMode) => void
}

/**
 * The socket when it works, long-poll when it doesn't:
 *
 *   ws ──(maxSocketFailures network failures in a row)──▶ http
 *   http ──(socketRetryMs later, or after an http failure)──▶ probe the socket
 *   probe ok ──▶ ws            probe fails ──▶ http again at once (no offline blip)
 *
 * Both transports speak the same sync tokens, so switching never loses or
 * repeats anything. Errors other than network ones (an expired session) go
 * straight to the loop.
 */
export class RealtimeTransport implements SyncTransport {
  private modeValue: TransportMode = 'ws'
  private failures = 0
  private retryAt = 0
  private readonly opts: Required<Omit<RealtimeOptions, 'onModeChange'>> & Pick<RealtimeOptions, 'onModeChange'>

  constructor(opts: RealtimeOptions) {
    this.opts = {
      maxSocketFailures: 3,
      socketRetryMs: 60_000,
      now: () => Date.now(),
      ...opts,
    }
  }

  get mode(): TransportMode {
    return this.modeValue
  }

  async next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    let probing = false
    if (this.modeValue === 'http' && this.opts.now() >= this.retryAt) probing = true
    if (this.modeValue === 'ws' || probing) {
      try {
        const response = await this.opts.ws.next(request, signal)
        this.failures = 0
        this.setMode('ws')
        return response
      } catch (e) {
        if (isAbortError(e) || signal.aborted || !(e instanceof NetworkError)) throw e
        this.failures += 1
        if (!probing && this.failures < this.opts.maxSocketFailures) throw e
        // The socket can't connect: long-poll, and try the socket again later.
        this.opts.ws.close?.()
        this.retryAt = this.opts.now() + this.opts.socketRetryMs
        this.setMode('http')
      }
    }
    try {
      return await this.opts.http.next(request, signal)
    } catch (e) {
      // The server itself is unreachable: when it is back, try the socket first.
      if (e instanceof NetworkError) this.retryAt = 0
      throw e
    }
  }

  ack(response: SyncResponse): void {
    if (this.modeValue === 'ws') this.opts.ws.ack?.(response)
  }

  close(): void {
    this.opts.ws.close?.()
    this.opts.http.close?.()
  }

  private setMode(mode: TransportMode): void {
    if (mode === this.modeValue) return
    this.modeValue = mode
    this.opts.onModeChange?.(mode)
  }
}
