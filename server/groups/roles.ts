import type { Role } from '../collab/principal.ts'
import type { GroupRecord, MembershipRecord } from '../storage/records.ts'

/** The group record decides ownership; the membership decides everything else. */
export function effectiveRole(group: GroupRecord, membership: MembershipRecord | null): Role | null {
  if (!membership) return null
  return group.ownerId === membership.userId ? 'owner' : membership.role
}

const RANK: Record<Role, number> = { viewer: 0, editor: 1, owner: 2 }

export function atLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum]
}
