/**
 * Edit records in MongoDB: `edits` holds `{ room, at, seq, user, created, deleted }`, and on the
 * last record of an append that marks how far the room's edits are recorded, `upToMs` and
 * `upToSeq` (the log id's parts): an ordered insert stores the last record only after all the
 * others. A prune may drop the record holding the mark; it is then older than any version kept.
 * `seq` orders records with an equal `at` in append order (ObjectIds are not reliably increasing:
 * their counter starts anywhere and wraps), so listings sort on `{ at, seq }` along the index.
 * `created` is stored flat (`[client, first, end, client, first, end, …]`): FerretDB refuses
 * nested arrays.
 */
import { Binary, type Collection, type Db } from 'mongodb'
import { parseLogId, type LogId } from '../../log/log-id.ts'
import { AppendSequence } from '../append-sequence.ts'
import { checkEdits, checkTime } from '../history-checks.ts'
import type { EditRecord, EditStore } from '../types.ts'
import { bytesOf } from './binary.ts'

interface EditDoc {
  room: string
  at: number
  seq: number
  user: string
  created: number[]
  deleted: Binary
  upToMs?: number
  upToSeq?: number
}

export class MongoEdits implements EditStore {
  private readonly edits: Collection<EditDoc>
  private readonly sequence = new AppendSequence()

  constructor(db: Db) {
    this.edits = db.collection<EditDoc>('edits')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('edits').createIndex({ room: 1, at: 1, seq: 1 })
    await db.collection('edits').createIndex({ room: 1, upToMs: -1, upToSeq: -1 })
  }

  async append(records: EditRecord[], upTo?: LogId): Promise<void> {
    checkEdits(records)
    if (records.length === 0) return
    const docs: EditDoc[] = records.map((record) => ({
      room: record.room,
      at: record.at,
      seq: this.sequence.next(),
      user: record.user,
      created: record.created.flat(),
      deleted: new Binary(record.deleted),
    }))
    if (upTo !== undefined) [docs.at(-1)!.upToMs, docs.at(-1)!.upToSeq] = parseLogId(upTo)
    await this.edits.insertMany(docs, { ordered: true })
  }

  async recordedUpTo(room: string): Promise<LogId | null> {
    const [newest] = await this.edits.find({ room, upToMs: { $exists: true } }, { projection: { upToMs: 1, upToSeq: 1 } }).sort({ upToMs: -1, upToSeq: -1 }).limit(1).toArray()
    return newest?.upToMs === undefined ? null : `${newest.upToMs}-${newest.upToSeq ?? 0}`
  }

  async list(room: string, options: { since: number; until?: number }): Promise<EditRecord[]> {
    checkTime(options.since, 'since')
    if (options.until !== undefined) checkTime(options.until, 'until')
    const at = options.until === undefined ? { $gte: options.since } : { $gte: options.since, $lt: options.until }
    const docs = await this.edits.find({ room, at }).sort({ at: 1, seq: 1 }).toArray()
    return docs.map((doc) => ({ room: doc.room, at: doc.at, user: doc.user, created: triples(doc.created), deleted: bytesOf(doc.deleted) }))
  }

  async prune(room: string, before: number): Promise<void> {
    checkTime(before, 'before')
    await this.edits.deleteMany({ room, at: { $lt: before } })
  }

  async deleteRoom(room: string): Promise<void> {
    await this.edits.deleteMany({ room })
  }
}

function triples(flat: number[]): Array<[number, number, number]> {
  const ranges: Array<[number, number, number]> = []
  for (let i = 0; i + 2 < flat.length; i += 3) ranges.push([flat[i]!, flat[i + 1]!, flat[i + 2]!])
  return ranges
}
