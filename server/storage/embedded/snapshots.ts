/**
 * Snapshots in LevelDB: `meta!<room>` (JSON: watermark, time, and how the bytes are kept) and the
 * bytes, either whole in `data!<room>` (up to CHUNK_BYTES, and every snapshot written before
 * chunks existed) or in chunks `chunk!<room>!<generation>!<n>`. Saves of one room are serialized,
 * so the newer-wins check holds; loads of a chunked snapshot take the same turn, so a save never
 * removes the chunks a load is reading.
 *
 * Why chunks: LevelDB copies a write's values into its batch on the event loop's thread, and a
 * 10 MiB value is 10 MiB of memory touched for the first time in one go: measured 90-150 ms of
 * stalled event loop on a VM whose page faults are slow (figure 6). Written a chunk per write,
 * with turns in between, a big snapshot never holds the loop long. A save writes its chunks
 * under a generation of its own, then switches the meta to them in one batch, then removes the
 * previous generation: a crash in between leaves the previous snapshot whole (and stray chunks,
 * removed by the room's next save).
 *
 * A chunked snapshot leaves LATER_FORMAT_STUB in `data!<room>`: releases before chunks read only
 * that value, and the stub is a snapshot format newer than theirs, which they refuse (the room
 * fails to load, loudly) instead of loading the room from its trimmed log as if it had no snapshot.
 */
import { compareLogIds, sortableLogId, type LogId } from '../../log/log-id.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import type { Snapshot, SnapshotStore } from '../types.ts'
import { prefixRange, type LevelDb } from './level.ts'

interface SnapshotMeta {
  watermark: LogId
  savedAt: number
  /** Kept in this many chunks under `generation` (absent: whole, in `data!<room>`), of `bytes` in all. */
  chunks?: number
  generation?: string
  bytes?: number
}

/** Snapshots up to this size are one value; bigger ones are chunks of this size. */
export const CHUNK_BYTES = 256 * 1024

/** "YSNP" and format 3: a snapshot format releases before chunks refuse (snapshot-codec.ts). */
export const LATER_FORMAT_STUB = new Uint8Array([0x59, 0x53, 0x4e, 0x50, 0x03])

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
    if (meta === undefined) return null
    const parsed = JSON.parse(decoder.decode(meta)) as SnapshotMeta
    if (parsed.chunks === undefined) return data === undefined ? null : { watermark: parsed.watermark, savedAt: parsed.savedAt, update: data }
    return this.mutex.run(room, () => this.loadChunked(room))
  }

  /** Read again in the room's turn: the snapshot may have been replaced since its meta was read. */
  private async loadChunked(room: string): Promise<Snapshot | null> {
    const meta = await this.readMeta(room)
    if (!meta) return null
    if (meta.chunks === undefined || meta.generation === undefined) {
      const data = await this.db.get(`data!${room}`)
      return data === undefined ? null : { watermark: meta.watermark, savedAt: meta.savedAt, update: data }
    }
    // One chunk per read, copied into its place as it comes: joining them at the end touched the
    // whole snapshot's new memory in one turn, as the one big value did.
    const update = Buffer.allocUnsafeSlow(meta.bytes ?? meta.chunks * CHUNK_BYTES)
    let at = 0
    for (let n = 0; n < meta.chunks; n++) {
      const chunk = await this.db.get(chunkKey(room, meta.generation, n))
      if (chunk === undefined || at + chunk.length > update.length) throw new Error(`snapshot of ${room} is missing or has damaged chunks of generation ${meta.generation}`)
      update.set(chunk, at)
      at += chunk.length
    }
    return { watermark: meta.watermark, savedAt: meta.savedAt, update: update.subarray(0, at) }
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
      if (update.length <= CHUNK_BYTES) {
        await this.db.batch([
          { type: 'put', key: `data!${room}`, value: update },
          { type: 'put', key: `meta!${room}`, value: encodeMeta(meta) },
        ])
      } else {
        const generation = sortableLogId(watermark) // newer wins: a room's saved watermarks only grow
        const chunks = Math.ceil(update.length / CHUNK_BYTES)
        await this.db.clear(prefixRange(chunkPrefix(room, generation))) // strays of a save cut short
        for (let n = 0; n < chunks; n++) await this.db.put(chunkKey(room, generation, n), update.subarray(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES))
        await this.db.batch([
          { type: 'put', key: `data!${room}`, value: LATER_FORMAT_STUB },
          { type: 'put', key: `meta!${room}`, value: encodeMeta({ ...meta, chunks, generation, bytes: update.length }) },
        ])
      }
      await this.removeChunksBesides(room, update.length <= CHUNK_BYTES ? undefined : sortableLogId(watermark))
      return true
    })
  }

  delete(room: string): Promise<void> {
    return this.mutex.run(room, async () => {
      await this.db.batch([
        { type: 'del', key: `data!${room}` },
        { type: 'del', key: `meta!${room}` },
      ])
      await this.removeChunksBesides(room, undefined)
    })
  }

  /** Every chunk of the room but those of `kept` (earlier generations, and a cut-short save's). */
  private async removeChunksBesides(room: string, kept: string | undefined): Promise<void> {
    const all = prefixRange(`chunk!${room}!`)
    if (kept === undefined) return this.db.clear(all)
    await this.db.clear({ gt: all.gt, lt: chunkPrefix(room, kept) })
    await this.db.clear({ gt: `${chunkPrefix(room, kept)}\xff`, lt: all.lt })
  }

  private async readMeta(room: string): Promise<SnapshotMeta | null> {
    const raw = await this.db.get(`meta!${room}`)
    return raw === undefined ? null : (JSON.parse(decoder.decode(raw)) as SnapshotMeta)
  }
}

function encodeMeta(meta: SnapshotMeta): Uint8Array {
  return encoder.encode(JSON.stringify(meta))
}

function chunkPrefix(room: string, generation: string): string {
  return `chunk!${room}!${generation}!`
}

/** Chunk numbers are fixed-width, so key order is chunk order. */
function chunkKey(room: string, generation: string, n: number): string {
  return `${chunkPrefix(room, generation)}${String(n).padStart(6, '0')}`
}
