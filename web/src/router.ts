/**
 * Routes: `#/` (groups) and `#/groups/<id>` by the URL hash, so the server serves one page; and
 * invite links, `/join/<code>` (the server serves the page there too) or `#/join/<code>`.
 */
import { isGroupId } from '../../shared/rooms.ts'
import { inviteCodeFrom } from './members/invite-link.ts'

export type Route = { name: 'groups' } | { name: 'group'; groupId: string } | { name: 'join'; code: string }

export function groupPath(groupId: string): string {
  return `#/groups/${groupId}`
}

export function currentRoute(): Route {
  const joining = /^\/join\//.test(location.pathname) ? inviteCodeFrom(location.pathname) : /^#\/join\//.test(location.hash) ? inviteCodeFrom(location.hash.slice(1)) : null
  if (joining) return { name: 'join', code: joining }
  const match = /^#\/groups\/([^/]+)$/.exec(location.hash)
  const groupId = match?.[1]
  return groupId && isGroupId(groupId) ? { name: 'group', groupId } : { name: 'groups' }
}

/** Leaves an invite link's path for the app's own (`/#/...`) without reloading. */
export function goTo(hash: string): void {
  if (location.pathname !== '/') history.replaceState(null, '', `/${hash}`)
  if (location.hash !== hash) location.hash = hash
  else window.dispatchEvent(new HashChangeEvent('hashchange'))
}
