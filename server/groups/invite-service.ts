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
import { atLeast } from './roles.ts'
import type { Role } from '../collab/principal.ts'
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
    await this.live(groupId) // void invites leave first: they hold no slot
    await this.deps.quotas.withInviteSlot(groupId, () => this.deps.storage.invites.create(invite))
    return inviteView(invite)
  }

  async list(actor: string, groupId: string): Promise<Array<Static<typeof InviteView>>> {
    await requireRole(this.deps.access, groupId, actor, 'editor')
    return (await this.live(groupId)).map(inviteView).sort((a, b) => a.createdAt - b.createdAt)
  }

  /** The group's invites whose maker may still invite; the void ones are deleted. */
  private async live(groupId: string): Promise<InviteRecord[]> {
    const invites = await this.deps.storage.invites.byGroup(groupId)
    const roles = new Map((await this.deps.storage.members.byGroup(groupId)).map((m) => [m.userId, m.role]))
    const live: InviteRecord[] = []
    for (const invite of invites) {
      if (makerMayInvite(invite, roles.get(invite.createdBy))) live.push(invite)
      else await this.deps.storage.invites.delete(invite.code)
    }
    return live
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
    const maker = await this.deps.storage.members.get(group.id, invite.createdBy)
    if (!makerMayInvite(invite, maker?.role)) {
      await this.deps.storage.invites.delete(code)
      throw gone('this invite was made by someone who can no longer invite to the group')
    }
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

/**
 * An invite lends its maker's right to invite: it is void once the maker left the group, was
 * removed, or no longer holds a role that may make it (a removed editor re-joining through an
 * invite of her own, or a demoted one bringing in accounts of hers as editors).
 */
function makerMayInvite(invite: InviteRecord, makerRole: Role | undefined): boolean {
  return makerRole !== undefined && atLeast(makerRole, 'editor') && atLeast(makerRole, invite.role)
}
