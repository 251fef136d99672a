/** Invite codes: created by owners and editors, with an expiry and a use limit; accepting joins. */
import { randomBytes } from 'node:crypto'
import type { Static } from 'typebox'
import type { GroupView, InviteView } from '../../shared/api.ts'
import { conflict, gone, notFound } from '../errors.ts'
import type { EventBus } from '../events/bus.ts'
import type { BaseRole, InviteRecord } from '../storage/records.ts'
import type { Storage } from '../storage/types.ts'
import type { AccessCache } from './access-cache.ts'
import type { Quotas } from './quotas.ts'
import { requireRole } from './guard.ts'
import { groupView, inviteView } from './views.ts'

export interface InviteDeps {
  storage: Storage
  access: AccessCache
  bus: EventBus
  /** Live invites per group, and groups per user for the one accepting. */
  quotas: Quotas
}

export const INVITE_DEFAULTS = { expiresInSec: 7 * 86_400, maxUses: 25 } as const

export class InviteService {
  private readonly deps: InviteDeps

  constructor(deps: InviteDeps) {
    this.deps = deps
  }

  async create(actor: string, groupId: string, input: { role?: BaseRole; expiresInSec?: number; maxUses?: number }): Promise<Static<typeof InviteView>> {
    await requireRole(this.deps.access, groupId, actor, 'editor')
    const now = Date.now()
    const invite: InviteRecord = {
      code: randomBytes(16).toString('base64url'),
      groupId,
      role: input.role ?? 'editor',
      createdBy: actor,
      createdAt: now,
      expiresAt: now + (input.expiresInSec ?? INVITE_DEFAULTS.expiresInSec) * 1000,
      maxUses: input.maxUses ?? INVITE_DEFAULTS.maxUses,
      uses: 0,
    }
    await this.deps.quotas.withInviteSlot(groupId, () => this.deps.storage.invites.create(invite))
    return inviteView(invite)
  }

  async list(actor: string, groupId: string): Promise<Array<Static<typeof InviteView>>> {
    await requireRole(this.deps.access, groupId, actor, 'editor')
    const invites = await this.deps.storage.invites.byGroup(groupId)
    return invites.map(inviteView).sort((a, b) => a.createdAt - b.createdAt)
  }

  async revoke(actor: string, groupId: string, code: string): Promise<void> {
    await requireRole(this.deps.access, groupId, actor, 'editor')
    const invite = await this.deps.storage.invites.get(code)
    if (!invite || invite.groupId !== groupId) throw notFound('no such invite')
    await this.deps.storage.invites.delete(code)
  }

  async accept(actor: string, code: string): Promise<Static<typeof GroupView>> {
    const invite = await this.deps.storage.invites.get(code)
    if (!invite) throw notFound('no such invite')
    const group = await this.deps.storage.groups.byId(invite.groupId)
    if (!group) throw notFound('the group no longer exists')
    if (await this.deps.storage.members.get(group.id, actor)) throw conflict('already a member')
    // A use is spent only once the joiner is known to have a group to spare.
    await this.deps.quotas.withGroupSlot(actor, async () => {
      if (!(await this.deps.storage.invites.consume(code, Date.now()))) throw gone('invite expired or used up')
      if (!(await this.deps.storage.members.add({ groupId: group.id, userId: actor, role: invite.role, joinedAt: Date.now() }))) {
        throw conflict('already a member')
      }
    })
    await this.deps.bus.publish({ type: 'membership', groupId: group.id, userId: actor, role: invite.role })
    return groupView(group, invite.role, await this.deps.storage.members.countByGroup(group.id))
  }
}
