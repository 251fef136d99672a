/**
 * Edit records in LevelDB: `edits`: `<room>!<at>!<seq>` → the record (its delete set in
 * base64: delete sets are small, and JSON keeps the record one value). `seq` keeps append order
 * for an equal `at`, so a listing is one range scan and pruning one range delete.
 * `edit-marks`: `<room>!` → the log id up to which the room's edits are recorded, written in the
 * same batch as the records it covers.
 */
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import { AppendSequence } from '../append-sequence.ts'
import { checkEdits, checkTime } from '../history-checks.ts'
import type { EditRecord, EditStore } from '../types.ts'
import { roomPrefix, sortableTime } from './history-keys.ts'
import { commit, jsonLevel, put, type JsonLevel } from './json-level.ts'
import { prefixRange, type LevelDb } from './level.ts'

interface StoredEdit {
  room: string
  at: number
  user: string
  created: Array<[number, number, number]>
  deleted: string
}

export class EmbeddedEdits implements EditStore {
  private readonly db: LevelDb
  private readonly edits: JsonLevel<StoredEdit>
  private readonly marks: JsonLevel<LogId>
  private readonly sequence = new AppendSequence()

  constructor(db: LevelDb) {
    this.db = db
    this.edits = jsonLevel(db, 'edits')
    this.marks = jsonLevel(db, 'edit-marks')
  }

  async append(records: EditRecord[], upTo?: LogId): Promise<void> {
    checkEdits(records)
    if (records.length === 0) return
    const ops = records.map((record) => put(this.edits, `${roomPrefix(record.room)}${sortableTime(record.at)}!${sortableTime(this.sequence.next())}`, {
      room: record.room, at: record.at, user: record.user, created: record.created, deleted: Buffer.from(record.deleted).toString('base64'),
    }))
    if (upTo !== undefined) {
      const room = records[0]!.room
      const marked = await this.recordedUpTo(room)
      if (marked === null || compareLogIds(upTo, marked) > 0) ops.push(put(this.marks, roomPrefix(room), upTo))
    }
    await commit(this.db, ops)
  }

  async recordedUpTo(room: string): Promise<LogId | null> {
    return (await this.marks.get(roomPrefix(room))) ?? null
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
    await this.marks.del(roomPrefix(room))
  }
}
