import { describe, expect, it } from 'vitest'
import { remoteServer, serverOf } from './servers'

describe('servers', () => {
  it('reads the server of a user id, port included', () => {
    expect(serverOf('@alice:example.org')).toBe('example.org')
    expect(serverOf('@alice:127.0.0.1:8448')).toBe('127.0.0.1:8448')
    expect(serverOf('nonsense')).toBe('')
  })

  it('names only other servers', () => {
    expect(remoteServer('@bob:b.example', '@me:a.example')).toBe('b.example')
    expect(remoteServer('@bob:a.example', '@me:a.example')).toBeUndefined()
    expect(remoteServer('@bob:a.example:8448', '@me:a.example')).toBe('a.example:8448')
    expect(remoteServer('@bob:b.example', null)).toBeUndefined()
  })
})
