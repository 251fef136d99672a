import { KeyedMutex } from '../keyed-mutex.ts'
import type { UserRecord } from '../records.ts'
import { DuplicateError, type UserStore } from '../types.ts'
import { commit, getMany, jsonLevel, put, type JsonLevel } from './json-level.ts'
import type { LevelDb } from './level.ts'

/** `users`: id → user; `emails`: email → id (the unique index). */
export class EmbeddedUsers implements UserStore {
  private readonly db: LevelDb
  private readonly users: JsonLevel<UserRecord>
  private readonly emails: JsonLevel<string>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.users = jsonLevel(db, 'users')
    this.emails = jsonLevel(db, 'emails')
  }

  create(user: UserRecord): Promise<void> {
    return this.mutex.run(user.email, async () => {
      if ((await this.emails.get(user.email)) !== undefined) throw new DuplicateError('email already registered')
      await commit(this.db, [put(this.users, user.id, user), put(this.emails, user.email, user.id)])
    })
  }

  async byId(id: string): Promise<UserRecord | null> {
    return (await this.users.get(id)) ?? null
  }

  async byEmail(email: string): Promise<UserRecord | null> {
    const id = await this.emails.get(email)
    return id === undefined ? null : this.byId(id)
  }

  byIds(ids: string[]): Promise<UserRecord[]> {
    return getMany(this.users, ids)
  }
}
