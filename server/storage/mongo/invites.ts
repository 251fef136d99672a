import type { Collection, Db } from 'mongodb'
import type { InviteRecord } from '../records.ts'
import type { InviteStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

type InviteDoc = Omit<InviteRecord, 'code' | 'expiresAt' | 'uses'> & { _id: string; expiresAt: Date }
type UseDoc = { _id: string; code: string; groupId: string; expiresAt: Date }

/**
 * `invites`: `_id` = code, indexed by group, TTL on `expiresAt`. Each use claims a slot in
 * `invite_uses` (`_id` = `<code>#<n>`, n < maxUses) by inserting it: the unique `_id` makes the
 * limit exact under concurrency without a read-modify-write, and the slots are the use count.
 */
export class MongoInvites implements InviteStore {
  private readonly invites: Collection<InviteDoc>
  private readonly uses: Collection<UseDoc>

  constructor(db: Db) {
    this.invites = db.collection<InviteDoc>('invites')
    this.uses = db.collection<UseDoc>('invite_uses')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('invites').createIndex({ groupId: 1 })
    await db.collection('invite_uses').createIndex({ groupId: 1 })
  }

  async create(invite: InviteRecord): Promise<void> {
    const { code, expiresAt, uses, ...rest } = invite
    await this.invites.insertOne({ _id: code, ...rest, expiresAt: new Date(expiresAt) })
    for (let slot = 0; slot < uses; slot++) await this.claim(invite, slot)
  }

  async get(code: string): Promise<InviteRecord | null> {
    const doc = await this.invites.findOne({ _id: code })
    return doc ? toRecord(doc, await this.uses.countDocuments({ code })) : null
  }

  async byGroup(groupId: string): Promise<InviteRecord[]> {
    const [docs, slots] = await Promise.all([
      this.invites.find({ groupId }).toArray(),
      this.uses.find({ groupId }, { projection: { code: 1 } }).toArray(),
    ])
    const counts = new Map<string, number>()
    for (const { code } of slots) counts.set(code, (counts.get(code) ?? 0) + 1)
    return docs.map((doc) => toRecord(doc, counts.get(doc._id) ?? 0))
  }

  async consume(code: string, now: number): Promise<InviteRecord | null> {
    const invite = await this.get(code)
    if (!invite || invite.expiresAt <= now) return null
    for (let slot = invite.uses; slot < invite.maxUses; slot++) {
      if (await this.claim(invite, slot)) return { ...invite, uses: Math.max(invite.uses, slot + 1) }
    }
    return null
  }

  async delete(code: string): Promise<boolean> {
    await this.uses.deleteMany({ code })
    return (await this.invites.deleteOne({ _id: code })).deletedCount === 1
  }

  async removeGroup(groupId: string): Promise<void> {
    await this.invites.deleteMany({ groupId })
    await this.uses.deleteMany({ groupId })
  }

  private async claim(invite: InviteRecord, slot: number): Promise<boolean> {
    try {
      await this.uses.insertOne({ _id: `${invite.code}#${slot}`, code: invite.code, groupId: invite.groupId, expiresAt: new Date(invite.expiresAt) })
      return true
    } catch (error) {
      if (isDuplicateKey(error)) return false
      throw error
    }
  }
}

function toRecord(doc: InviteDoc, uses: number): InviteRecord {
  const { _id, expiresAt, ...rest } = doc
  return { code: _id, ...rest, expiresAt: expiresAt.getTime(), uses }
}
