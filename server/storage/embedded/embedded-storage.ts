/** The embedded store: LevelDB under DATA_DIR/store, one sublevel per concern. */
import path from 'node:path'
import type { Storage } from '../types.ts'
import { EmbeddedEdits } from './edits.ts'
import { EmbeddedFeed } from './feed.ts'
import { EmbeddedWebhooks } from './webhooks.ts'
import { EmbeddedGroups } from './groups.ts'
import { EmbeddedInvites } from './invites.ts'
import { openLevel, type LevelDb } from './level.ts'
import { EmbeddedMembers } from './members.ts'
import { EmbeddedSessions } from './sessions.ts'
import { EmbeddedSettings } from './settings.ts'
import { EmbeddedSnapshots } from './snapshots.ts'
import { EmbeddedUsers } from './users.ts'
import { EmbeddedVersions } from './versions.ts'

export class EmbeddedStorage implements Storage {
  readonly kind = 'embedded' as const
  readonly snapshots: EmbeddedSnapshots
  readonly users: EmbeddedUsers
  readonly groups: EmbeddedGroups
  readonly members: EmbeddedMembers
  readonly invites: EmbeddedInvites
  readonly sessions: EmbeddedSessions
  readonly settings: EmbeddedSettings
  readonly versions: EmbeddedVersions
  readonly edits: EmbeddedEdits
  readonly feed: EmbeddedFeed
  readonly webhooks: EmbeddedWebhooks
  private readonly db: LevelDb

  private constructor(db: LevelDb) {
    this.db = db
    this.snapshots = new EmbeddedSnapshots(db.sublevel<string, Uint8Array>('snap', { valueEncoding: 'view' }) as unknown as LevelDb)
    this.users = new EmbeddedUsers(db)
    this.members = new EmbeddedMembers(db)
    this.invites = new EmbeddedInvites(db)
    this.groups = new EmbeddedGroups(db, this.members, this.invites)
    this.sessions = new EmbeddedSessions(db)
    this.settings = new EmbeddedSettings(db)
    this.versions = new EmbeddedVersions(db)
    this.edits = new EmbeddedEdits(db)
    this.feed = new EmbeddedFeed(db)
    this.webhooks = new EmbeddedWebhooks(db)
  }

  static async open(dataDir: string): Promise<EmbeddedStorage> {
    return new EmbeddedStorage(await openLevel(path.join(dataDir, 'store')))
  }

  async ping(): Promise<void> {
    if (this.db.status !== 'open') throw new Error(`embedded store is ${this.db.status}`)
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}
