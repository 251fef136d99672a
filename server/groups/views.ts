/** Records → REST views. */
import type { Static } from 'typebox'
import type { GroupView, InviteView, MemberView } from '../../shared/api.ts'
import { roomName } from '../../shared/rooms.ts'
import type { Role } from '../collab/principal.ts'
import type { GroupRecord, InviteRecord, MembershipRecord, UserRecord } from '../storage/records.ts'
import { effectiveRole } from './roles.ts'

export function groupView(group: GroupRecord, role: Role, memberCount: number): Static<typeof GroupView> {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    ownerId: group.ownerId,
    role,
    memberCount,
    createdAt: group.createdAt,
    rooms: { canvas: roomName(group.id, 'canvas'), chat: roomName(group.id, 'chat') },
  }
}

export function memberView(group: GroupRecord, membership: MembershipRecord, user: UserRecord | undefined): Static<typeof MemberView> {
  return {
    userId: membership.userId,
    name: user?.name ?? '',
    role: effectiveRole(group, membership) ?? membership.role,
    joinedAt: membership.joinedAt,
  }
}

export function inviteView(invite: InviteRecord): Static<typeof InviteView> {
  const { code, groupId, role, createdAt, expiresAt, maxUses, uses } = invite
  return { code, groupId, role, createdAt, expiresAt, maxUses, uses }
}
