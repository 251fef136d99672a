/**
 * Versions in MongoDB: `versions` holds `{ _id: id, room, createdAt, name, authors, bytes, hash?,
 * data? | chunks? | sameAs? }` (`sameAs`: the state is that version's). States over INLINE_LIMIT are split into `version_chunks` (`{ _id:
 * "<id>#<i>", version, room, i, data }`), written before their version document, so a visible
 * version is always complete. Only plain inserts and deletes: uniqueness rests on `_id`, which
 * every MongoDB-compatible server enforces atomically.
 *
 * Chunks are inserted, never upserted: a second create with a taken id fails on chunk 0 before
 * it can overwrite the first one's parts. Once chunk 0 is ours, every chunk of that id is ours,
 * so a create that fails later removes them again (best effort: MongoDB may be the failure), but
 * never those of a version document that may have been written after all.
 */
import { Binary, type Collection, type Db } from 'mongodb'
import { checkLimit, checkTime, checkVersion } from '../history-checks.ts'
import { DuplicateError, type VersionMade, type VersionRecord, type VersionStore } from '../types.ts'
import { bytesOf } from './binary.ts'
import { isDuplicateKey } from './mongo-errors.ts'

/** Below MongoDB's 16 MiB document limit with room for the other fields. */
const INLINE_LIMIT = 15 * 1024 * 1024
const CHUNK_BYTES = 8 * 1024 * 1024
/** Everything but the state, for listings. */
const META = { projection: { data: 0, chunks: 0 } }

interface VersionDoc {
  _id: string
  room: string
  createdAt: number
  name: string | null
  authors: string[]
  bytes: number
  hash?: string
  sameAs?: string
  made?: VersionMade
  data?: Binary
  chunks?: number
}

interface ChunkDoc {
  _id: string
  version: string
  room: string
  i: number
  data: Binary
}

export class MongoVersions implements VersionStore {
  private readonly versions: Collection<VersionDoc>
  private readonly chunks: Collection<ChunkDoc>

  constructor(db: Db) {
    this.versions = db.collection<VersionDoc>('versions')
    this.chunks = db.collection<ChunkDoc>('version_chunks')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('versions').createIndex({ room: 1, createdAt: -1 })
    await db.collection('version_chunks').createIndex({ version: 1, i: 1 })
    await db.collection('version_chunks').createIndex({ room: 1 })
  }

  async create(record: VersionRecord, state: Uint8Array): Promise<void> {
    checkVersion(record, state)
    const shared = record.sameAs !== undefined
    const chunked = !shared && state.length > INLINE_LIMIT
    if (chunked) await this.writeChunks(record, state)
    try {
      await this.versions.insertOne({
        _id: record.id,
        room: record.room,
        createdAt: record.createdAt,
        name: record.name,
        authors: [...record.authors],
        bytes: state.length,
        ...(record.hash !== undefined && { hash: record.hash }),
        ...(record.made !== undefined && { made: record.made }),
        ...(shared ? { sameAs: record.sameAs } : chunked ? { chunks: Math.ceil(state.length / CHUNK_BYTES) } : { data: new Binary(state) }),
      })
    } catch (error) {
      const duplicate = isDuplicateKey(error)
      if (chunked && (duplicate || !(await this.mayExist(record.id)))) await this.removeChunks(record.id)
      if (duplicate) throw new DuplicateError(`version ${record.id} exists`)
      throw error
    }
  }

  async list(room: string, options: { limit: number; before?: number }): Promise<VersionRecord[]> {
    checkLimit(options.limit)
    if (options.limit === 0) return [] // limit(0) would mean "all" to MongoDB
    if (options.before !== undefined) checkTime(options.before, 'before')
    const filter = options.before === undefined ? { room } : { room, createdAt: { $lt: options.before } }
    const docs = await this.versions.find(filter, META).sort({ createdAt: -1, _id: -1 }).limit(options.limit).toArray()
    return docs.map(toRecord)
  }

  async all(room: string): Promise<VersionRecord[]> {
    const docs = await this.versions.find({ room }, META).sort({ createdAt: 1, _id: 1 }).toArray()
    return docs.map(toRecord)
  }

  async get(room: string, id: string): Promise<VersionRecord | null> {
    const doc = await this.versions.findOne({ _id: id, room }, META)
    return doc ? toRecord(doc) : null
  }

  async state(room: string, id: string): Promise<Uint8Array | null> {
    const own = await this.versions.findOne({ _id: id, room })
    // A version sharing another's state names the one that stores it: one hop, never a chain.
    const doc = own?.sameAs !== undefined ? await this.versions.findOne({ _id: own.sameAs, room, sameAs: { $exists: false } }) : own
    if (!doc) return null
    if (doc.data) return bytesOf(doc.data)
    const state = await this.readChunks(doc)
    if (state) return state
    // Parts missing: the version was deleted while we read (then it is gone), or it is damaged.
    if (!(await this.versions.findOne({ _id: doc._id, room }, { projection: { _id: 1 } }))) return null
    throw new Error(`version ${doc._id} of ${room} has incomplete state chunks`)
  }

  async delete(room: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    // The version documents first: a reader never sees a version whose parts are gone.
    await this.versions.deleteMany({ room, _id: { $in: ids } })
    await this.chunks.deleteMany({ room, version: { $in: ids } })
  }

  async deleteRoom(room: string): Promise<void> {
    await this.versions.deleteMany({ room })
    await this.chunks.deleteMany({ room })
  }

  private async writeChunks(record: VersionRecord, state: Uint8Array): Promise<void> {
    for (let i = 0, offset = 0; offset < state.length; i++, offset += CHUNK_BYTES) {
      const data = new Binary(state.subarray(offset, offset + CHUNK_BYTES))
      try {
        await this.chunks.insertOne({ _id: `${record.id}#${i}`, version: record.id, room: record.room, i, data })
      } catch (error) {
        if (i > 0) await this.removeChunks(record.id)
        if (isDuplicateKey(error)) throw new DuplicateError(`version ${record.id} exists`)
        throw error
      }
    }
  }

  /** After a failed insert whose outcome is unknown (a timeout may have written it): true unless surely absent. */
  private async mayExist(id: string): Promise<boolean> {
    return this.versions.findOne({ _id: id }, { projection: { _id: 1 } }).then((doc) => doc !== null, () => true)
  }

  private async removeChunks(id: string): Promise<void> {
    await this.chunks.deleteMany({ version: id }).catch(() => undefined)
  }

  private async readChunks(doc: VersionDoc): Promise<Uint8Array | null> {
    const parts = await this.chunks.find({ version: doc._id }).sort({ i: 1 }).toArray()
    if (parts.length !== doc.chunks) return null
    const state = new Uint8Array(doc.bytes)
    let offset = 0
    for (const part of parts) {
      const bytes = bytesOf(part.data)
      if (offset + bytes.length > state.length) return null
      state.set(bytes, offset)
      offset += bytes.length
    }
    return offset === doc.bytes ? state : null
  }
}

function toRecord(doc: VersionDoc): VersionRecord {
  return {
    id: doc._id, room: doc.room, createdAt: doc.createdAt, name: doc.name, authors: doc.authors, bytes: doc.bytes,
    ...(doc.hash !== undefined && { hash: doc.hash }),
    ...(doc.sameAs !== undefined && { sameAs: doc.sameAs }),
    ...(doc.made !== undefined && { made: doc.made }),
  }
}
