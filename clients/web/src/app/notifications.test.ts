import { afterEach, describe, expect, it, vi } from 'vitest'
import { showThroughWorker } from './notifications'
import type { NotificationPayload } from '../state/notify'

const payload = { room_id: '!dm:chat.example', event_id: '$e', sender: '@ben:chat.example', unread: 1, prio: 'high' } as NotificationPayload

/** A worker that answers the nth message (1-based) it gets, or never (`answerAt: 0`). */
function worker(answerAt: number, answer: object = { ok: true }) {
  const received: unknown[] = []
  const active = {
    postMessage: (message: unknown, transfer: MessagePort[]) => {
      received.push(message)
      if (received.length === answerAt) transfer[0].postMessage(answer)
    },
  } as unknown as ServiceWorker
  const registration = async () => ({ active }) as unknown as ServiceWorkerRegistration
  return { received, registration }
}

describe('showing a notification through the service worker', () => {
  afterEach(() => vi.restoreAllMocks())

  it('is done once the worker says it is shown', async () => {
    const w = worker(1)
    expect(await showThroughWorker(w.registration, payload, [200, 200])).toBe(true)
    expect(w.received).toEqual([{ type: 'show-notification', payload }])
  })

  it('is sent again when the worker does not answer (a lost message)', async () => {
    const w = worker(2)
    expect(await showThroughWorker(w.registration, payload, [50, 200])).toBe(true)
    expect(w.received).toHaveLength(2)
  })

  it('falls back to the page when the worker never answers, or there is none', async () => {
    const w = worker(0)
    expect(await showThroughWorker(w.registration, payload, [30, 30])).toBe(false)
    expect(w.received).toHaveLength(2)
    expect(await showThroughWorker(async () => null, payload, [30])).toBe(false)
  })

  it('a refusal is logged, not retried (the page would be refused too)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const w = worker(1, { ok: false, error: 'permission denied' })
    expect(await showThroughWorker(w.registration, payload, [200, 200])).toBe(true)
    expect(w.received).toHaveLength(1)
    expect(warn).toHaveBeenCalledWith('Notification not shown:', 'permission denied')
  })
})
