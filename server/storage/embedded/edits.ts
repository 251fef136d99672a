/**
 * Edit records in LevelDB: `edits`: `<room>!<at>!<seq>` → the record (its delete set in
 * base64: delete sets are small, and JSON keeps the record one value). `seq` keeps append order
 * for an equal `at`, so a listing is one range scan and pruning one range delete.
 */
import { AppendSequence } from '../append-sequence.ts'
import { checkEdits, checkTime } from '../history-checks.ts'
import type { EditRecord, EditStore } from '../types.ts'
import { roomPrefix, sortableTime } from './history-keys.ts'
import { jsonLevel, type JsonLevel } from './json-level.ts'
import { prefixRange, type LevelDb } from './level.ts'

interface StoredEdit {
  room: string
  at: number
  user: string
  created: Array<[number, number, number]>
  deleted: string
}

export class EmbeddedEdits implements EditStore {
  private readonly edits: JsonLevel<StoredEdit>
  private readonly sequence = new AppendSequence()

  constructor(db: LevelDb) {
    this.edits = jsonLevel(db, 'edits')
  }

  async append(records: EditRecord[]): Promise<void> {
    checkEdits(records)
    if (records.length === 0) return
    await this.edits.batch(records.map((record) => ({
      type: 'put' as const,
      key: `${roomPrefix(record.room)}${sortableTime(record.at)}!${sortableTime(this.sequence.next())}`,
      value: { room: record.room, at: record.at, user: record.user, created: record.created, deleted: Buffer.from(record.deleted).toString('base64') },
    })))
  }

  async list(room: string, options: { since: number; until?: number }): Promise<EditRecord[]> {
    checkTime(options.since, 'since')
    const prefix = roomPrefix(room)
    const range = { gte: `${prefix}${sortableTime(options.since)}`, lt: prefixRange(prefix).lt }
    if (options.until !== undefined) {
      checkTime(options.until, 'until')
      range.lt = `${prefix}${sortableTime(options.until)}`
    }
    const stored = await this.edits.values(range).all()
    return stored.map((edit) => ({ ...edit, deleted: new Uint8Array(Buffer.from(edit.deleted, 'base64')) }))
  }

  async prune(room: string, before: number): Promise<void> {
    checkTime(before, 'before')
    const prefix = roomPrefix(room)
    await this.edits.clear({ gt: prefix, lt: `${prefix}${sortableTime(before)}` })
  }

  async deleteRoom(room: string): Promise<void> {
    await this.edits.clear(prefixRange(roomPrefix(room)))
  }
}
