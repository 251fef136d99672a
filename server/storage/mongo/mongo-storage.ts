/**
 * Storage on MongoDB through the official driver. Opening connects, creates the collections'
 * indexes and fails fast if the server cannot be reached. Operations fail after
 * `timeoutMs` of not finding a server rather than hanging, so callers can degrade.
 */
import { MongoClient, type Db } from 'mongodb'
import type { Logger } from '../../logger.ts'
import type { Storage } from '../types.ts'
import { MongoGroups } from './groups.ts'
import { MongoInvites } from './invites.ts'
import { MongoMembers } from './members.ts'
import { MongoSessions } from './sessions.ts'
import { MongoSnapshots } from './snapshots.ts'
import { ensureTtl } from './ttl.ts'
import { MongoUsers } from './users.ts'

export interface MongoOptions {
  url: string
  dbName: string
  timeoutMs: number
  logger: Logger
}

export class MongoStorage implements Storage {
  readonly kind = 'mongodb' as const
  readonly snapshots: MongoSnapshots
  readonly users: MongoUsers
  readonly groups: MongoGroups
  readonly members: MongoMembers
  readonly invites: MongoInvites
  readonly sessions: MongoSessions
  private readonly client: MongoClient
  private readonly db: Db
  private readonly timers: NodeJS.Timeout[]

  private constructor(client: MongoClient, db: Db, timers: NodeJS.Timeout[]) {
    this.client = client
    this.db = db
    this.timers = timers
    this.snapshots = new MongoSnapshots(db)
    this.users = new MongoUsers(db)
    this.members = new MongoMembers(db)
    this.invites = new MongoInvites(db)
    this.groups = new MongoGroups(db, this.members, this.invites)
    this.sessions = new MongoSessions(db)
  }

  static async open(options: MongoOptions): Promise<MongoStorage> {
    const client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: options.timeoutMs,
      connectTimeoutMS: options.timeoutMs,
      appName: 'canvas-collab-server',
    })
    await client.connect()
    const db = client.db(options.dbName)
    try {
      await Promise.all([MongoSnapshots, MongoUsers, MongoMembers, MongoInvites, MongoSessions].map((store) => store.ensureIndexes(db)))
      const timers = await Promise.all(['invites', 'invite_uses', 'sessions'].map((name) => ensureTtl(db, name, options.logger)))
      return new MongoStorage(client, db, timers.filter((t): t is NodeJS.Timeout => t !== null))
    } catch (error) {
      await client.close()
      throw error
    }
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    await this.client.close()
  }
}
