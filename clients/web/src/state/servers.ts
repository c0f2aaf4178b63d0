/** The server part of a Matrix user id (`@alice:example.org:8448` → `example.org:8448`). */
export function serverOf(userId: string): string {
  const colon = userId.indexOf(':')
  return colon < 0 ? '' : userId.slice(colon + 1)
}

/** The other person's server when it is not mine (people of a federated server), else undefined. */
export function remoteServer(userId: string, me: string | null | undefined): string | undefined {
  const theirs = serverOf(userId)
  return theirs && me && theirs !== serverOf(me) ? theirs : undefined
}
