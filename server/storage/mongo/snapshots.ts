/**
 * Snapshots in MongoDB as immutable versions: `snapshots` holds `{ _id: "<room>@<wm>", room, wm,
 * savedAt, size, data? | chunks? }` where `wm` is the sortable watermark. The current snapshot of
 * a room is its version with the highest `wm`, so an older snapshot can never win over a newer
 * one whatever order two writers finish in: no read-modify-write is involved, only inserts,
 * which every MongoDB-compatible server makes atomic through the unique `_id`.
 *
 * Updates over INLINE_LIMIT are split into `snapshot_chunks` (`{ room, wm, i, data }`), written
 * before their version document, so a visible version is always complete. Superseded versions
 * and their chunks are deleted after a newer one is in place; a reader that loses that race
 * simply reads the newer version.
 */
import { Binary, type Collection, type Db } from 'mongodb'
import { fromSortableLogId, sortableLogId, type LogId } from '../../log/log-id.ts'
import type { Snapshot, SnapshotStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

/**
 * A document is serialized on the event loop's thread, into memory touched for the first time: a
 * 10 MiB snapshot in one document stalled it ~120 ms on a VM whose page faults are slow (figure
 * 6). Bigger snapshots go in chunks of this size, one write each (turns in between). Snapshots
 * written inline or in bigger chunks by earlier releases read the same (each version names its
 * chunk count).
 */
const INLINE_LIMIT = 1024 * 1024
const CHUNK_BYTES = 1024 * 1024
const READ_ATTEMPTS = 4

interface VersionDoc {
  _id: string
  room: string
  wm: string
  savedAt: number
  size: number
  data?: Binary
  chunks?: number
}

interface ChunkDoc {
  _id: string
  room: string
  wm: string
  i: number
  data: Binary
}

export class MongoSnapshots implements SnapshotStore {
  private readonly versions: Collection<VersionDoc>
  private readonly chunks: Collection<ChunkDoc>

  constructor(db: Db) {
    this.versions = db.collection<VersionDoc>('snapshots')
    this.chunks = db.collection<ChunkDoc>('snapshot_chunks')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('snapshots').createIndex({ room: 1, wm: -1 })
    await db.collection('snapshot_chunks').createIndex({ room: 1, wm: 1, i: 1 })
  }

  async load(room: string): Promise<Snapshot | null> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const version = await this.latest(room, false)
      if (!version) return null
      const update = version.data ? version.data.buffer : await this.readChunks(version)
      if (update) return { update, watermark: fromSortableLogId(version.wm), savedAt: version.savedAt }
      // Superseded and removed while we read its chunks: the newer version is there now.
    }
    throw new Error(`snapshot of ${room} kept changing while being read`)
  }

  async watermark(room: string): Promise<LogId | null> {
    const version = await this.latest(room, true)
    return version ? fromSortableLogId(version.wm) : null
  }

  async save(room: string, update: Uint8Array, watermark: LogId): Promise<boolean> {
    const wm = sortableLogId(watermark)
    const current = await this.latest(room, true)
    if (current && current.wm >= wm) return false
    const chunked = update.length > INLINE_LIMIT
    if (chunked) await this.writeChunks(room, wm, update)
    try {
      await this.versions.insertOne({
        _id: `${room}@${wm}`,
        room,
        wm,
        savedAt: Date.now(),
        size: update.length,
        ...(chunked ? { chunks: Math.ceil(update.length / CHUNK_BYTES) } : { data: new Binary(update) }),
      })
    } catch (error) {
      if (isDuplicateKey(error)) return false // this very watermark was saved meanwhile
      throw error
    }
    await this.removeOlderThan(room, wm)
    return true
  }

  async delete(room: string): Promise<void> {
    await this.versions.deleteMany({ room })
    await this.chunks.deleteMany({ room })
  }

  private latest(room: string, metaOnly: boolean): Promise<VersionDoc | null> {
    const projection = metaOnly ? { wm: 1, savedAt: 1 } : {}
    return this.versions.find({ room }, { projection }).sort({ wm: -1 }).limit(1).next()
  }

  private async removeOlderThan(room: string, wm: string): Promise<void> {
    await this.versions.deleteMany({ room, wm: { $lt: wm } })
    await this.chunks.deleteMany({ room, wm: { $lt: wm } })
  }

  private async writeChunks(room: string, wm: string, update: Uint8Array): Promise<void> {
    for (let i = 0, offset = 0; offset < update.length; i++, offset += CHUNK_BYTES) {
      const data = new Binary(update.subarray(offset, offset + CHUNK_BYTES))
      await this.chunks.replaceOne({ _id: `${room}@${wm}#${i}` }, { room, wm, i, data }, { upsert: true })
    }
  }

  /**
   * One chunk per reply (`batchSize(1)`), copied into its place as it comes: the driver parsing
   * every chunk in one reply, and copying them all at once, touched the whole snapshot's new
   * memory in one turn.
   */
  private async readChunks(version: VersionDoc): Promise<Uint8Array | null> {
    const update = Buffer.allocUnsafeSlow(version.size)
    let offset = 0
    let count = 0
    for await (const part of this.chunks.find({ room: version.room, wm: version.wm }).sort({ i: 1 }).batchSize(1)) {
      const bytes = part.data.buffer
      if (part.i !== count || offset + bytes.length > version.size) return null
      update.set(bytes, offset)
      offset += bytes.length
      count++
    }
    return count === version.chunks && offset === version.size ? update : null
  }
}
