/**
 * Storage on MongoDB through the official driver. Opening never fails for want of a server: the
 * client connects on first use, and the collections' indexes are built by a background loop
 * that retries until MongoDB answers (so a node starts while MongoDB is down, reports storage
 * down, and becomes ready once MongoDB appears). `ping` fails until the indexes exist.
 * Operations fail after `timeoutMs` of not finding a server rather than hanging.
 */
import { MongoClient, type Db } from 'mongodb'
import { BackgroundFailures, BackgroundLoop } from '../../background-loop.ts'
import type { Logger } from '../../logger.ts'
import type { Storage } from '../types.ts'
import { MongoEdits } from './edits.ts'
import { MongoFeed } from './feed.ts'
import { MongoWebhooks } from './webhooks.ts'
import { MongoGroups } from './groups.ts'
import { MongoInvites } from './invites.ts'
import { MonitorWatchdog } from './monitor-watchdog.ts'
import { MongoMembers } from './members.ts'
import { MongoSessions } from './sessions.ts'
import { MongoSettings } from './settings.ts'
import { MongoSnapshots } from './snapshots.ts'
import { ensureTtl } from './ttl.ts'
import { MongoUsers } from './users.ts'
import { MongoVersions } from './versions.ts'

export interface MongoOptions {
  url: string
  dbName: string
  timeoutMs: number
  logger: Logger
  failures?: BackgroundFailures
}

/** Index building is retried this soon after a failure, doubling up to PREPARE_EVERY_MS. */
const PREPARE_RETRY_MS = 250
const PREPARE_EVERY_MS = 5_000
/** How often the monitor watchdog looks for a stuck heartbeat. */
const WATCHDOG_EVERY_MS = 1_000

export class MongoStorage implements Storage {
  readonly kind = 'mongodb' as const
  readonly snapshots: MongoSnapshots
  readonly users: MongoUsers
  readonly groups: MongoGroups
  readonly members: MongoMembers
  readonly invites: MongoInvites
  readonly sessions: MongoSessions
  readonly settings: MongoSettings
  readonly versions: MongoVersions
  readonly edits: MongoEdits
  readonly feed: MongoFeed
  readonly webhooks: MongoWebhooks
  private readonly client: MongoClient
  private readonly db: Db
  /** Collections whose expiry is handled (TTL index, or a purge loop: the value). */
  private readonly expiring = new Map<string, BackgroundLoop | null>()
  private readonly preparing: BackgroundLoop
  private readonly watchdog: MonitorWatchdog
  private prepared = false

  private constructor(client: MongoClient, db: Db, options: MongoOptions, heartbeatMs: number) {
    this.client = client
    this.db = db
    const failures = options.failures ?? new BackgroundFailures()
    // A heartbeat takes at most the driver's await time plus its connect timeout; twice that is stuck.
    this.watchdog = new MonitorWatchdog(client, { heartbeatLimitMs: 2 * (heartbeatMs + options.timeoutMs), everyMs: WATCHDOG_EVERY_MS, logger: options.logger, failures })
    this.preparing = new BackgroundLoop(() => this.prepare(options.logger, failures), {
      name: 'mongodb-indexes', everyMs: PREPARE_EVERY_MS, retryMs: PREPARE_RETRY_MS, logger: options.logger, failures,
    })
    this.snapshots = new MongoSnapshots(db)
    this.users = new MongoUsers(db)
    this.members = new MongoMembers(db)
    this.invites = new MongoInvites(db)
    this.groups = new MongoGroups(db, this.members, this.invites)
    this.sessions = new MongoSessions(db)
    this.settings = new MongoSettings(db)
    this.versions = new MongoVersions(db)
    this.edits = new MongoEdits(db)
    this.feed = new MongoFeed(db)
    this.webhooks = new MongoWebhooks(db)
  }

  /** Resolves after one attempt at building the indexes (bounded by `timeoutMs`), even if it failed. */
  static async open(options: MongoOptions): Promise<MongoStorage> {
    const heartbeatMs = Math.min(options.timeoutMs, 10_000)
    const client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: options.timeoutMs,
      connectTimeoutMS: options.timeoutMs,
      // A silent connection must not hold an operation forever: the driver's timeoutMS is deprecated
      // and has no effect (driver 7), so the socket's idle timeout and a faster server monitor end
      // such an operation within a few seconds; calls on a request's path also race a deadline.
      socketTimeoutMS: options.timeoutMs,
      heartbeatFrequencyMS: heartbeatMs,
      appName: 'canvas-collab-server',
    })
    const storage = new MongoStorage(client, client.db(options.dbName), options, heartbeatMs)
    storage.watchdog.start()
    storage.preparing.start()
    await storage.preparing.runNow()
    return storage
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 })
    if (!this.prepared) throw new Error('MongoDB answers but the indexes are not built yet')
  }

  async close(): Promise<void> {
    await this.watchdog.stop()
    await this.preparing.stop()
    await Promise.all([...this.expiring.values()].map((purge) => purge?.stop()))
    await this.client.close()
  }

  private async prepare(logger: Logger, failures: BackgroundFailures): Promise<void> {
    if (this.prepared) return
    // Explicitly: the driver's connect-on-first-use closes the client for good if MongoDB is down
    // then ("Topology is closed"), while a failed connect() can be retried. Once connected, the
    // driver rides out later outages by itself.
    await this.client.connect()
    await Promise.all([MongoSnapshots, MongoUsers, MongoMembers, MongoInvites, MongoSessions, MongoVersions, MongoEdits, MongoFeed, MongoWebhooks].map((store) => store.ensureIndexes(this.db)))
    for (const name of ['invites', 'invite_uses', 'sessions']) {
      if (!this.expiring.has(name)) this.expiring.set(name, await ensureTtl(this.db, name, logger, failures))
    }
    this.prepared = true
    void this.preparing.stop() // done for good
  }
}
