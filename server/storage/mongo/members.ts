import type { Collection, Db } from 'mongodb'
import type { BaseRole, MembershipRecord } from '../records.ts'
import type { MembershipStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

type MembershipDoc = MembershipRecord & { _id: string }

/** `memberships`: `_id` = `<group>:<user>` (one membership per pair), indexed both ways. */
export class MongoMembers implements MembershipStore {
  private readonly members: Collection<MembershipDoc>

  constructor(db: Db) {
    this.members = db.collection<MembershipDoc>('memberships')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    const members = db.collection('memberships')
    await members.createIndex({ groupId: 1, joinedAt: 1 })
    await members.createIndex({ userId: 1 })
  }

  async get(groupId: string, userId: string): Promise<MembershipRecord | null> {
    return toRecord(await this.members.findOne({ _id: idOf(groupId, userId) }))
  }

  async put(membership: MembershipRecord): Promise<void> {
    await this.members.replaceOne({ _id: idOf(membership.groupId, membership.userId) }, membership, { upsert: true })
  }

  async add(membership: MembershipRecord): Promise<boolean> {
    try {
      await this.members.insertOne({ _id: idOf(membership.groupId, membership.userId), ...membership })
      return true
    } catch (error) {
      if (isDuplicateKey(error)) return false
      throw error
    }
  }

  async setRole(groupId: string, userId: string, role: BaseRole): Promise<boolean> {
    return (await this.members.updateOne({ _id: idOf(groupId, userId) }, { $set: { role } })).matchedCount === 1
  }

  async remove(groupId: string, userId: string): Promise<boolean> {
    return (await this.members.deleteOne({ _id: idOf(groupId, userId) })).deletedCount === 1
  }

  async byGroup(groupId: string): Promise<MembershipRecord[]> {
    return (await this.members.find({ groupId }).toArray()).map((doc) => toRecord(doc) as MembershipRecord)
  }

  async byUser(userId: string): Promise<MembershipRecord[]> {
    return (await this.members.find({ userId }).toArray()).map((doc) => toRecord(doc) as MembershipRecord)
  }

  countByGroup(groupId: string): Promise<number> {
    return this.members.countDocuments({ groupId })
  }

  async removeGroup(groupId: string): Promise<void> {
    await this.members.deleteMany({ groupId })
  }
}

function idOf(groupId: string, userId: string): string {
  return `${groupId}:${userId}`
}

function toRecord(doc: MembershipDoc | null): MembershipRecord | null {
  if (!doc) return null
  const { groupId, userId, role, joinedAt } = doc
  return { groupId, userId, role, joinedAt }
}
