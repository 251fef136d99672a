import type { Collection, Db } from 'mongodb'
import type { InviteRecord } from '../records.ts'
import type { InviteStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

type InviteDoc = Omit<InviteRecord, 'code' | 'expiresAt'> & { _id: string; expiresAt: Date }
type UseDoc = { _id: string; code: string; groupId: string; expiresAt: Date }

/**
 * `invites`: `_id` = code, indexed by group, TTL on `expiresAt`. Each use claims a slot in
 * `invite_uses` (`_id` = `<code>#<n>`, n < maxUses) by inserting it: the unique `_id` makes the
 * limit exact under concurrency without a read-modify-write. `uses` on the invite is kept for
 * display with `$max`, which is order-independent.
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
    const { code, expiresAt, ...rest } = invite
    await this.invites.insertOne({ _id: code, ...rest, expiresAt: new Date(expiresAt) })
  }

  async get(code: string): Promise<InviteRecord | null> {
    return toRecord(await this.invites.findOne({ _id: code }))
  }

  async byGroup(groupId: string): Promise<InviteRecord[]> {
    return (await this.invites.find({ groupId }).toArray()).map((doc) => toRecord(doc) as InviteRecord)
  }

  async consume(code: string, now: number): Promise<InviteRecord | null> {
    const invite = await this.get(code)
    if (!invite || invite.expiresAt <= now) return null
    for (let slot = invite.uses; slot < invite.maxUses; slot++) {
      if (await this.claim(invite, slot)) {
        await this.invites.updateOne({ _id: code }, { $max: { uses: slot + 1 } })
        return { ...invite, uses: Math.max(invite.uses, slot + 1) }
      }
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

function toRecord(doc: InviteDoc | null): InviteRecord | null {
  if (!doc) return null
  const { _id, expiresAt, ...rest } = doc
  return { code: _id, ...rest, expiresAt: expiresAt.getTime() }
}
