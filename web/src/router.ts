/** Hash routes, so the server serves one page at `/`: `#/` (groups) and `#/groups/<id>`. */
import { isGroupId } from '../../shared/rooms.ts'

export type Route = { name: 'groups' } | { name: 'group'; groupId: string }

export function groupPath(groupId: string): string {
  return `#/groups/${groupId}`
}

export function currentRoute(): Route {
  const match = /^#\/groups\/([^/]+)$/.exec(location.hash)
  const groupId = match?.[1]
  return groupId && isGroupId(groupId) ? { name: 'group', groupId } : { name: 'groups' }
}
