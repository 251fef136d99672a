/** Role checks for REST operations, answered from the access cache. */
import type { Role } from '../collab/principal.ts'
import { forbidden, notFound } from '../errors.ts'
import type { GroupRecord } from '../storage/records.ts'
import type { AccessCache } from './access-cache.ts'
import { atLeast } from './roles.ts'

export interface Granted {
  group: GroupRecord
  role: Role
}

export async function requireRole(access: AccessCache, groupId: string, userId: string, minimum: Role): Promise<Granted> {
  const found = await access.get(groupId, userId)
  if (!found) throw notFound('no such group')
  if (!found.role) throw forbidden('not a member of this group')
  if (!atLeast(found.role, minimum)) throw forbidden(`requires the ${minimum} role`)
  return { group: found.group, role: found.role }
}
