/** The embedded store: LevelDB under DATA_DIR/store. */
import path from 'node:path'
import type { Storage } from '../types.ts'
import { openLevel, type LevelDb } from './level.ts'
import { EmbeddedSnapshots } from './snapshots.ts'

export class EmbeddedStorage implements Storage {
  readonly kind = 'embedded' as const
  readonly snapshots: EmbeddedSnapshots

  private readonly db: LevelDb

  private constructor(db: LevelDb) {
    this.db = db
    this.snapshots = new EmbeddedSnapshots(db.sublevel<string, Uint8Array>('snap', { valueEncoding: 'view' }) as unknown as LevelDb)
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
