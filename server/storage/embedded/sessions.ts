import { KeyedMutex } from '../keyed-mutex.ts'
import type { SessionRecord } from '../records.ts'
import type { SessionStore } from '../types.ts'
import { commit, del, indexedIds, jsonLevel, put, type JsonLevel } from './json-level.ts'
import type { LevelDb } from './level.ts'

/** `sessions`: token hash → session; `userSessions`: `<user>!<hash>` for revoking all of a user's. */
export class EmbeddedSessions implements SessionStore {
  private readonly db: LevelDb
  private readonly sessions: JsonLevel<SessionRecord>
  private readonly userSessions: JsonLevel<number>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.sessions = jsonLevel(db, 'sessions')
    this.userSessions = jsonLevel(db, 'userSessions')
  }

  create(session: SessionRecord): Promise<void> {
    return commit(this.db, [put(this.sessions, session.tokenHash, session), put(this.userSessions, `${session.userId}!${session.tokenHash}`, 1)])
  }

  consume(tokenHash: string, now: number): Promise<SessionRecord | null> {
    return this.mutex.run(tokenHash, async () => {
      const session = await this.sessions.get(tokenHash)
      if (!session) return null
      await this.remove(session)
      return session.expiresAt > now ? session : null
    })
  }

  revoke(tokenHash: string): Promise<void> {
    return this.mutex.run(tokenHash, async () => {
      const session = await this.sessions.get(tokenHash)
      if (session) await this.remove(session)
    })
  }

  async revokeUser(userId: string): Promise<void> {
    for (const hash of await indexedIds(this.userSessions, userId)) await this.revoke(hash)
  }

  private remove(session: SessionRecord): Promise<void> {
    return commit(this.db, [del(this.sessions, session.tokenHash), del(this.userSessions, `${session.userId}!${session.tokenHash}`)])
  }
}
