import { describe, expect, it } from 'vitest'
import { matchMembers, mentionQuery, mentionsMe } from './mentions'

describe('mentions', () => {
  it('m.mentions decides when present; otherwise my name as a word', () => {
    expect(mentionsMe({ body: 'hi', 'm.mentions': { user_ids: ['@me:hs'] } }, '@me:hs', 'Mel')).toBe(true)
    expect(mentionsMe({ body: 'Mel, hi', 'm.mentions': {} }, '@me:hs', 'Mel')).toBe(false)
    expect(mentionsMe({ body: 'Mel, hi' }, '@me:hs', 'Mel')).toBe(true)
    expect(mentionsMe({ body: 'Melody' }, '@me:hs', 'Mel')).toBe(false)
  })

  it('finds the @query before the caret', () => {
    expect(mentionQuery('hi @be', 6)).toEqual({ start: 3, query: 'be' })
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionQuery('mail a@b', 8)).toBeNull()
    expect(mentionQuery('hi @ben done', 12)).toBeNull()
  })

  it('offers members by name or id, prefix matches first', () => {
    const members = [
      { userId: '@ben:hs', name: 'ben' },
      { userId: '@ana:hs', name: 'Ana' },
      { userId: '@robert:hs', name: 'Robert (Bob)' },
    ]
    expect(matchMembers(members, 'b').map((m) => m.userId)).toEqual(['@ben:hs', '@robert:hs'])
    expect(matchMembers(members, '').length).toBe(3)
    expect(matchMembers(members, 'zz')).toEqual([])
  })
})
