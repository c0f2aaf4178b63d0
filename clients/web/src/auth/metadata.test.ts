import { describe, expect, it } from 'vitest'
import { accountActionUrl } from './metadata'

describe('account page links', () => {
  it('adds the action to the account management URL', () => {
    expect(accountActionUrl('https://chat.example/oauth2/account', 'org.matrix.account_deactivate')).toBe(
      'https://chat.example/oauth2/account?action=org.matrix.account_deactivate',
    )
  })

  it('keeps a query the server put there, and replaces an action', () => {
    expect(accountActionUrl('https://chat.example/account?lang=en&action=x', 'org.matrix.devices_list')).toBe(
      'https://chat.example/account?lang=en&action=org.matrix.devices_list',
    )
  })
})
