/** Members: list, change a role, remove, leave. The owner is changed only by a transfer. */
import type { Static } from 'typebox'
import type { MemberView } from '../../shared/api.ts'
import { conflict, notFound } from '../errors.ts'
import type { EventBus } from '../events/bus.ts'
import type { BaseRole } from '../storage/records.ts'
import type { Storage } from '../storage/types.ts'
import type { AccessCache } from './access-cache.ts'
import { requireRole } from './guard.ts'
import { memberView } from './views.ts'

export interface MemberDeps {
  storage: Storage
  access: AccessCache
  bus: EventBus
}

export class MemberService {
  private readonly deps: MemberDeps

  constructor(deps: MemberDeps) {
    this.deps = deps
  }

  async list(actor: string, groupId: string): Promise<Array<Static<typeof MemberView>>> {
    const { group } = await requireRole(this.deps.access, groupId, actor, 'viewer')
    const memberships = await this.deps.storage.members.byGroup(groupId)
    const users = new Map((await this.deps.storage.users.byIds(memberships.map((m) => m.userId))).map((u) => [u.id, u]))
    return memberships.map((m) => memberView(group, m, users.get(m.userId))).sort((a, b) => a.joinedAt - b.joinedAt)
  }

  async setRole(actor: string, groupId: string, userId: string, role: BaseRole): Promise<Static<typeof MemberView>> {
    const { group } = await requireRole(this.deps.access, groupId, actor, 'owner')
    if (userId === group.ownerId) throw conflict('the owner\'s role changes only by transferring ownership')
    if (!(await this.deps.storage.members.setRole(groupId, userId, role))) throw notFound('no such member')
    if (role === 'viewer') await this.dropInvitesOf(groupId, userId)
    await this.deps.bus.publish({ type: 'membership', groupId, userId, role })
    const membership = await this.deps.storage.members.get(groupId, userId)
    if (!membership) throw notFound('no such member')
    return memberView(group, membership, (await this.deps.storage.users.byIds([userId]))[0])
  }

  /** The owner removes someone; anyone may remove themselves (that is leaving). */
  async remove(actor: string, groupId: string, userId: string): Promise<void> {
    if (userId === actor) return this.leave(actor, groupId)
    const { group } = await requireRole(this.deps.access, groupId, actor, 'owner')
    if (userId === group.ownerId) throw conflict('the owner cannot be removed')
    await this.drop(groupId, userId)
  }

  async leave(actor: string, groupId: string): Promise<void> {
    const { group } = await requireRole(this.deps.access, groupId, actor, 'viewer')
    if (group.ownerId === actor) throw conflict('the owner cannot leave; transfer ownership first')
    await this.drop(groupId, actor)
  }

  private async drop(groupId: string, userId: string): Promise<void> {
    if (!(await this.deps.storage.members.remove(groupId, userId))) throw notFound('no such member')
    await this.dropInvitesOf(groupId, userId)
    await this.deps.bus.publish({ type: 'membership', groupId, userId, role: null })
  }

  /**
   * An invite lends its maker's right to invite (invite-service.ts): one who lost it (removed,
   * gone, made a viewer) loses her invites for good, even if she is made an editor again later.
   */
  private async dropInvitesOf(groupId: string, userId: string): Promise<void> {
    for (const invite of await this.deps.storage.invites.byGroup(groupId)) {
      if (invite.createdBy === userId) await this.deps.storage.invites.delete(invite.code)
    }
  }
}

