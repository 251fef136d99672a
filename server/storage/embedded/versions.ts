/**
 * Versions in LevelDB, three sublevels written together in one atomic batch:
 * - `versions`: `<room>!<createdAt>!<id>` → the record, so listing and paging are range scans
 *   (newest first = a reverse scan: createdAt desc, then id desc);
 * - `versionIds`: `<id>` → that key, for lookups by id and the uniqueness of ids;
 * - `versionStates`: `<id>` → the state as raw bytes (none for a version that shares another's).
 * Writes are serialized in this process (one process owns the store), so the duplicate check holds.
 */
import { checkLimit, checkTime, checkVersion } from '../history-checks.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import { DuplicateError, type VersionRecord, type VersionStore } from '../types.ts'
import { roomPrefix, sortableTime } from './history-keys.ts'
import { commit, del, jsonLevel, put, type JsonLevel, type Op } from './json-level.ts'
import { prefixRange, type LevelDb } from './level.ts'

/** One lock for every version write: they are rare (one per document every few minutes). */
const WRITES = 'versions'

export class EmbeddedVersions implements VersionStore {
  private readonly db: LevelDb
  private readonly versions: JsonLevel<VersionRecord>
  private readonly ids: JsonLevel<string>
  /** Typed like the JSON sublevels (for `commit`), but its values are raw bytes. */
  private readonly states: JsonLevel<Uint8Array>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.versions = jsonLevel(db, 'versions')
    this.ids = jsonLevel(db, 'versionIds')
    this.states = db.sublevel<string, Uint8Array>('versionStates', { valueEncoding: 'view' }) as unknown as JsonLevel<Uint8Array>
  }

  async create(record: VersionRecord, state: Uint8Array): Promise<void> {
    checkVersion(record, state)
    const stored: VersionRecord = { ...record, authors: [...record.authors] }
    const key = `${roomPrefix(record.room)}${sortableTime(record.createdAt)}!${record.id}`
    return this.mutex.run(WRITES, async () => {
      if ((await this.ids.get(record.id)) !== undefined) throw new DuplicateError(`version ${record.id} exists`)
      const ops = [put(this.versions, key, stored), put(this.ids, record.id, key)]
      if (record.sameAs === undefined) ops.push(put(this.states, record.id, state))
      await commit(this.db, ops)
    })
  }

  async list(room: string, options: { limit: number; before?: number }): Promise<VersionRecord[]> {
    checkLimit(options.limit)
    if (options.limit === 0) return []
    const prefix = roomPrefix(room)
    const range = prefixRange(prefix)
    if (options.before !== undefined) {
      checkTime(options.before, 'before')
      range.lt = `${prefix}${sortableTime(options.before)}` // every key of an equal createdAt sorts above this
    }
    return this.versions.values({ ...range, reverse: true, limit: options.limit }).all()
  }

  async all(room: string): Promise<VersionRecord[]> {
    return this.versions.values(prefixRange(roomPrefix(room))).all()
  }

  async get(room: string, id: string): Promise<VersionRecord | null> {
    const key = await this.ids.get(id)
    if (key === undefined || !key.startsWith(roomPrefix(room))) return null
    return (await this.versions.get(key)) ?? null
  }

  async state(room: string, id: string): Promise<Uint8Array | null> {
    const record = await this.get(room, id)
    if (!record) return null
    return (await this.states.get(record.sameAs ?? id)) ?? null
  }

  async delete(room: string, ids: string[]): Promise<void> {
    return this.mutex.run(WRITES, async () => {
      const unique = [...new Set(ids)]
      const keys = await this.ids.getMany(unique)
      const prefix = roomPrefix(room)
      const ops = unique.flatMap((id, i) => {
        const key = keys[i]
        return key !== undefined && key.startsWith(prefix) ? this.removeOps(id, key) : []
      })
      if (ops.length > 0) await commit(this.db, ops)
    })
  }

  async deleteRoom(room: string): Promise<void> {
    return this.mutex.run(WRITES, async () => {
      const ops: Op[] = []
      for await (const [key, record] of this.versions.iterator(prefixRange(roomPrefix(room)))) ops.push(...this.removeOps(record.id, key))
      if (ops.length > 0) await commit(this.db, ops)
    })
  }

  private removeOps(id: string, key: string): Op[] {
    return [del(this.versions, key), del(this.ids, id), del(this.states, id)]
  }
}
