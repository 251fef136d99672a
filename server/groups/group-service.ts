/** Groups: create, list mine, get, rename/describe, transfer ownership, delete. */
import type { Static } from 'typebox'
import type { GroupView } from '../../shared/api.ts'
import { newId } from '../../shared/ids.ts'
import { badRequest, conflict, forbidden } from '../errors.ts'
import type { EventBus } from '../events/bus.ts'
import type { GroupRecord } from '../storage/records.ts'
import type { Storage } from '../storage/types.ts'
import type { AccessCache } from './access-cache.ts'
import type { Quotas } from './quotas.ts'
import type { TaggedCache } from './tagged-cache.ts'
import { requireRole } from './guard.ts'
import { effectiveRole } from './roles.ts'
import { groupView } from './views.ts'

type View = Static<typeof GroupView>

/** What deleting a group needs from the collaboration side. */
export interface GroupRooms {
  /** Deletes the stored documents (snapshots and logs) of a group's rooms. */
  deleteGroupData(groupId: string): Promise<void>
}

export interface GroupDeps {
  storage: Storage
  access: AccessCache
  /** Each user's group list (GET /groups), dropped by the same access events. */
  lists: TaggedCache<View[]>
  bus: EventBus
  rooms: GroupRooms
  /** Groups per user: creating one takes a slot of the creator's. */
  quotas: Quotas
}

export class GroupService {
  private readonly deps: GroupDeps

  constructor(deps: GroupDeps) {
    this.deps = deps
  }

  async create(actor: string, input: { name: string; description?: string }): Promise<View> {
    const now = Date.now()
    const group: GroupRecord = { id: newId(), name: input.name.trim(), description: input.description?.trim() ?? '', ownerId: actor, createdAt: now }
    await this.deps.quotas.withGroupSlot(actor, () => this.deps.storage.groups.create(group, { groupId: group.id, userId: actor, role: 'editor', joinedAt: now }))
    await this.deps.bus.publish({ type: 'membership', groupId: group.id, userId: actor, role: 'owner' })
    return groupView(group, 'owner', 1)
  }

  listMine(actor: string): Promise<View[]> {
    return this.deps.lists.get(`user:${actor}`, [`user:${actor}`], () => this.loadMine(actor), (views) => views.map((v) => `group:${v.id}`))
  }

  private async loadMine(actor: string): Promise<View[]> {
    const memberships = await this.deps.storage.members.byUser(actor)
    const groups = await this.deps.storage.groups.byIds(memberships.map((m) => m.groupId))
    const byId = new Map(groups.map((g) => [g.id, g]))
    const views = await Promise.all(memberships.map(async (membership) => {
      const group = byId.get(membership.groupId)
      if (!group) return null
      return groupView(group, effectiveRole(group, membership) ?? membership.role, await this.deps.storage.members.countByGroup(group.id))
    }))
    return views.filter((v): v is View => v !== null).sort((a, b) => a.createdAt - b.createdAt)
  }

  async get(actor: string, groupId: string): Promise<View> {
    const { group, role } = await requireRole(this.deps.access, groupId, actor, 'viewer')
    return groupView(group, role, await this.deps.storage.members.countByGroup(groupId))
  }

  async update(actor: string, groupId: string, changes: { name?: string; description?: string }): Promise<View> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    const trimmed = { ...(changes.name !== undefined && { name: changes.name.trim() }), ...(changes.description !== undefined && { description: changes.description.trim() }) }
    const group = await this.deps.storage.groups.update(groupId, trimmed)
    if (!group) throw forbidden('group is gone')
    await this.deps.bus.publish({ type: 'group-changed', groupId })
    return groupView(group, 'owner', await this.deps.storage.members.countByGroup(groupId))
  }

  async transfer(actor: string, groupId: string, to: string): Promise<View> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    if (to === actor) throw badRequest('you already own this group')
    if (!(await this.deps.storage.members.get(groupId, to))) throw conflict('the new owner must be a member')
    if (!(await this.deps.storage.groups.transferOwnership(groupId, actor, to))) throw conflict('ownership changed meanwhile')
    await this.deps.storage.members.setRole(groupId, actor, 'editor')
    await this.deps.bus.publish({ type: 'group-changed', groupId })
    await this.deps.bus.publish({ type: 'membership', groupId, userId: actor, role: 'editor' })
    await this.deps.bus.publish({ type: 'membership', groupId, userId: to, role: 'owner' })
    return this.get(actor, groupId)
  }

  async delete(actor: string, groupId: string): Promise<void> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    await this.deps.storage.groups.delete(groupId)
    await this.deps.bus.publish({ type: 'group-deleted', groupId })
    await this.deps.rooms.deleteGroupData(groupId)
  }
}
