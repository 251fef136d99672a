import type { Collection, Db } from 'mongodb'
import type { SessionRecord } from '../records.ts'
import type { SessionStore } from '../types.ts'

type SessionDoc = { _id: string; userId: string; expiresAt: Date }

/**
 * `sessions`: `_id` = refresh token hash, indexed by user, TTL on `expiresAt`. A session is
 * claimed by deleting it: of two concurrent refreshes with one token, exactly one deletes it.
 */
export class MongoSessions implements SessionStore {
  private readonly sessions: Collection<SessionDoc>

  constructor(db: Db) {
    this.sessions = db.collection<SessionDoc>('sessions')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('sessions').createIndex({ userId: 1 })
  }

  async create(session: SessionRecord): Promise<void> {
    await this.sessions.insertOne({ _id: session.tokenHash, userId: session.userId, expiresAt: new Date(session.expiresAt) })
  }

  async consume(tokenHash: string, now: number): Promise<SessionRecord | null> {
    const doc = await this.sessions.findOne({ _id: tokenHash })
    if (!doc) return null
    const claimed = (await this.sessions.deleteOne({ _id: tokenHash })).deletedCount === 1
    if (!claimed || doc.expiresAt.getTime() <= now) return null
    return { tokenHash, userId: doc.userId, expiresAt: doc.expiresAt.getTime() }
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.sessions.deleteOne({ _id: tokenHash })
  }

  async revokeUser(userId: string): Promise<void> {
    await this.sessions.deleteMany({ userId })
  }
}
