import type { Collection, Db } from 'mongodb'
import type { GroupRecord, MembershipRecord } from '../records.ts'
import type { GroupStore } from '../types.ts'
import type { MongoInvites } from './invites.ts'
import type { MongoMembers } from './members.ts'

type GroupDoc = Omit<GroupRecord, 'id'> & { _id: string }

/**
 * `groups`: `_id` = group id. Ownership lives here only (`ownerId`), so a transfer is a single
 * conditional update. MongoDB has no multi-document atomicity without transactions (which not
 * every deployment or compatible server offers), so create and delete order their writes to be
 * safe if interrupted: the owner's membership before the group, the group before its members.
 */
export class MongoGroups implements GroupStore {
  private readonly groups: Collection<GroupDoc>
  private readonly members: MongoMembers
  private readonly invites: MongoInvites

  constructor(db: Db, members: MongoMembers, invites: MongoInvites) {
    this.groups = db.collection<GroupDoc>('groups')
    this.members = members
    this.invites = invites
  }

  async create(group: GroupRecord, ownerMembership: MembershipRecord): Promise<void> {
    const { id, ...rest } = group
    await this.members.put(ownerMembership)
    await this.groups.insertOne({ _id: id, ...rest })
  }

  async byId(id: string): Promise<GroupRecord | null> {
    return toRecord(await this.groups.findOne({ _id: id }))
  }

  async byIds(ids: string[]): Promise<GroupRecord[]> {
    if (ids.length === 0) return []
    return (await this.groups.find({ _id: { $in: ids } }).toArray()).map((doc) => toRecord(doc) as GroupRecord)
  }

  async update(id: string, changes: Partial<Pick<GroupRecord, 'name' | 'description'>>): Promise<GroupRecord | null> {
    return toRecord(await this.groups.findOneAndUpdate({ _id: id }, { $set: changes }, { returnDocument: 'after' }))
  }

  async transferOwnership(id: string, from: string, to: string): Promise<boolean> {
    return (await this.groups.updateOne({ _id: id, ownerId: from }, { $set: { ownerId: to } })).modifiedCount === 1
  }

  async delete(id: string): Promise<void> {
    await this.groups.deleteOne({ _id: id })
    await this.members.removeGroup(id)
    await this.invites.removeGroup(id)
  }
}

function toRecord(doc: GroupDoc | null): GroupRecord | null {
  if (!doc) return null
  const { _id, ...rest } = doc
  return { id: _id, ...rest }
}
