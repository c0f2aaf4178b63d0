import type { MatrixClient } from '../api/client'
import { MatrixError } from '../api/errors'
import type { SyncResponse } from '../api/types'
import type { SyncRequest, SyncTransport } from './transport'

/** Inline filter: a modest timeline per room so the first sync stays small. */
export const DEFAULT_FILTER = JSON.stringify({ room: { timeline: { limit: 30 } } })

/** Long-polling `GET /_matrix/client/v3/sync`. */
export class HttpSyncTransport implements SyncTransport {
  private filter: string | undefined
  private readonly client: MatrixClient

  constructor(client: MatrixClient, filter: string | undefined = DEFAULT_FILTER) {
    this.client = client
    this.filter = filter
  }

  async next(request: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    try {
      return await this.client.sync({ since: request.since, timeout: request.timeout, filter: this.filter }, signal)
    } catch (e) {
      // A server that does not understand inline filters: carry on without one.
      if (this.filter !== undefined && e instanceof MatrixError && (e.httpStatus === 400 || e.httpStatus === 404) && !signal.aborted) {
        this.filter = undefined
        return this.client.sync({ since: request.since, timeout: request.timeout }, signal)
      }
      throw e
    }
  }
}
