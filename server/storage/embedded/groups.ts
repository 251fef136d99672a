import { KeyedMutex } from '../keyed-mutex.ts'
import type { GroupRecord, MembershipRecord } from '../records.ts'
import type { GroupStore } from '../types.ts'
import type { EmbeddedInvites } from './invites.ts'
import { commit, del, getMany, indexedIds, jsonLevel, put, type JsonLevel } from './json-level.ts'
import type { LevelDb } from './level.ts'
import type { EmbeddedMembers } from './members.ts'

/** `groups`: id → group. Creating and deleting also write the member and invite indexes. */
export class EmbeddedGroups implements GroupStore {
  private readonly db: LevelDb
  private readonly groups: JsonLevel<GroupRecord>
  private readonly members: EmbeddedMembers
  private readonly invites: EmbeddedInvites
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb, members: EmbeddedMembers, invites: EmbeddedInvites) {
    this.db = db
    this.groups = jsonLevel(db, 'groups')
    this.members = members
    this.invites = invites
  }

  create(group: GroupRecord, ownerMembership: MembershipRecord): Promise<void> {
    return commit(this.db, [put(this.groups, group.id, group), ...this.members.putOps(ownerMembership)])
  }

  async byId(id: string): Promise<GroupRecord | null> {
    return (await this.groups.get(id)) ?? null
  }

  byIds(ids: string[]): Promise<GroupRecord[]> {
    return getMany(this.groups, ids)
  }

  update(id: string, changes: Partial<Pick<GroupRecord, 'name' | 'description'>>): Promise<GroupRecord | null> {
    return this.mutex.run(id, async () => {
      const group = await this.byId(id)
      if (!group) return null
      const updated = { ...group, ...changes }
      await commit(this.db, [put(this.groups, id, updated)])
      return updated
    })
  }

  transferOwnership(id: string, from: string, to: string): Promise<boolean> {
    return this.mutex.run(id, async () => {
      const group = await this.byId(id)
      if (!group || group.ownerId !== from) return false
      await commit(this.db, [put(this.groups, id, { ...group, ownerId: to })])
      return true
    })
  }

  delete(id: string): Promise<void> {
    return this.mutex.run(id, async () => {
      const members = await indexedIds(this.members.members as unknown as JsonLevel<number>, id)
      const codes = await indexedIds(this.invites.groupInvites, id)
      await commit(this.db, [
        del(this.groups, id),
        ...members.flatMap((user) => this.members.removeOps(id, user)),
        ...codes.flatMap((code) => this.invites.deleteOps(id, code)),
      ])
    })
  }
}
