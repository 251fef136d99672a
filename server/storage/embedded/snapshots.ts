/**
 * Snapshots in LevelDB: `meta!<room>` (JSON watermark + time) and `data!<room>` (the update),
 * written in one atomic batch. Saves of one room are serialized, so the newer-wins check holds.
 */
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import type { Snapshot, SnapshotStore } from '../types.ts'
import type { LevelDb } from './level.ts'

interface SnapshotMeta {
  watermark: LogId
  savedAt: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class EmbeddedSnapshots implements SnapshotStore {
  private readonly mutex = new KeyedMutex()

  private readonly db: LevelDb

  constructor(db: LevelDb) {

    this.db = db
  }

  async load(room: string): Promise<Snapshot | null> {
    const [meta, data] = await this.db.getMany([`meta!${room}`, `data!${room}`])
    if (meta === undefined || data === undefined) return null
    return { ...(JSON.parse(decoder.decode(meta)) as SnapshotMeta), update: data }
  }

  async watermark(room: string): Promise<LogId | null> {
    const meta = await this.readMeta(room)
    return meta?.watermark ?? null
  }

  save(room: string, update: Uint8Array, watermark: LogId): Promise<boolean> {
    return this.mutex.run(room, async () => {
      const current = await this.readMeta(room)
      if (current && compareLogIds(current.watermark, watermark) >= 0) return false
      const meta: SnapshotMeta = { watermark, savedAt: Date.now() }
      await this.db.batch([
        { type: 'put', key: `data!${room}`, value: update },
        { type: 'put', key: `meta!${room}`, value: encoder.encode(JSON.stringify(meta)) },
      ])
      return true
    })
  }

  delete(room: string): Promise<void> {
    return this.mutex.run(room, () => this.db.batch([
      { type: 'del', key: `data!${room}` },
      { type: 'del', key: `meta!${room}` },
    ]))
  }

  private async readMeta(room: string): Promise<SnapshotMeta | null> {
    const raw = await this.db.get(`meta!${room}`)
    return raw === undefined ? null : (JSON.parse(decoder.decode(raw)) as SnapshotMeta)
  }
}
