import { describe, expect, it } from 'vitest'
import { MatrixClient } from '../api/client'
import { MediaCache } from './mediaCache'

function setup(fail = new Set<string>()) {
  const loads: string[] = []
  const revoked: string[] = []
  let n = 0
  const cache = new MediaCache(
    new MatrixClient({ accessToken: 't' }),
    async (_c, path) => {
      loads.push(path)
      if (fail.has(path)) throw new Error('nope')
      return new Blob([path])
    },
    () => `blob:${++n}`,
    (u) => revoked.push(u),
  )
  return { cache, loads, revoked, fail }
}

describe('MediaCache', () => {
  it('downloads each path once and shares the object URL', async () => {
    const { cache, loads } = setup()
    const [a, b] = await Promise.all([cache.url('/x'), cache.url('/x')])
    expect(a).toBe('blob:1')
    expect(b).toBe('blob:1')
    expect(cache.peek('/x')).toBe('blob:1')
    expect(loads).toEqual(['/x'])
  })

  it('forgets a failed download so it is tried again', async () => {
    const { cache, loads, fail } = setup(new Set(['/bad']))
    await expect(cache.url('/bad')).rejects.toThrow('nope')
    fail.clear()
    await expect(cache.url('/bad')).resolves.toBe('blob:1')
    expect(loads).toEqual(['/bad', '/bad'])
  })

  it('revokes the least recently used URLs beyond its size, and all on clear', async () => {
    const { cache, revoked } = setup()
    await cache.url('/first')
    for (let i = 0; i < 200; i++) await cache.url(`/p${i}`)
    expect(revoked).toEqual(['blob:1'])
    expect(cache.peek('/first')).toBeUndefined()
    cache.clear()
    expect(revoked).toHaveLength(201)
  })
})
