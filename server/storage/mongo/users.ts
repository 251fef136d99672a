import type { Collection, Db } from 'mongodb'
import type { UserRecord } from '../records.ts'
import { DuplicateError, type UserStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

type UserDoc = Omit<UserRecord, 'id'> & { _id: string }

/** `users`: `_id` = user id, unique index on `email`. */
export class MongoUsers implements UserStore {
  private readonly users: Collection<UserDoc>

  constructor(db: Db) {
    this.users = db.collection<UserDoc>('users')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('users').createIndex({ email: 1 }, { unique: true })
  }

  async create(user: UserRecord): Promise<void> {
    const { id, ...rest } = user
    try {
      await this.users.insertOne({ _id: id, ...rest })
    } catch (error) {
      if (isDuplicateKey(error)) throw new DuplicateError('email already registered')
      throw error
    }
  }

  async byId(id: string): Promise<UserRecord | null> {
    return toRecord(await this.users.findOne({ _id: id }))
  }

  async byEmail(email: string): Promise<UserRecord | null> {
    return toRecord(await this.users.findOne({ email }))
  }

  async byIds(ids: string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return []
    const docs = await this.users.find({ _id: { $in: ids } }).toArray()
    return docs.map((doc) => toRecord(doc) as UserRecord)
  }
}

function toRecord(doc: UserDoc | null): UserRecord | null {
  if (!doc) return null
  const { _id, ...rest } = doc
  return { id: _id, ...rest }
}
