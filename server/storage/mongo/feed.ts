/**
 * The change feed in MongoDB. `events`: `{_id: "<group>:<seq>", groupId, seq, key, type, at,
 * actor, data}` with a unique index on `{groupId, key}`. The next seq is the newest plus one,
 * claimed by inserting its `_id`: an insert is atomic on every MongoDB-wire server (FerretDB has
 * no atomic conditional update), so two writers racing for one seq see one win and the other
 * retry, and seq N+1 exists only after seq N does (a reader paging by seq never skips one).
 * `feed_items`: `{_id: "<room>|<kind>|<client>|<start>", room, kind, client, start, end, id, author}`.
 */
import { MongoBulkWriteError, type Collection, type Db } from 'mongodb'
import type { FeedItem, FeedStore, NewEvent, StoredEvent } from '../feed-types.ts'
import { DUPLICATE_KEY, isDuplicateKey } from './mongo-errors.ts'

interface EventDoc extends StoredEvent {
  _id: string
  key: string
}

interface ItemDoc extends FeedItem {
  _id: string
  room: string
}

/** Attempts at claiming a seq before giving up (each lost race means another writer appended). */
const MAX_CLAIMS = 50
const REMEMBERED_GROUPS = 10_000

export class MongoFeed implements FeedStore {
  private readonly events: Collection<EventDoc>
  private readonly items: Collection<ItemDoc>
  /**
   * Each group's next seq as this node last wrote it: a stale one only costs a duplicate and a
   * read (another node wrote since); it is never ahead, as events are removed only with the group.
   */
  private readonly nextSeq = new Map<string, number>()

  constructor(db: Db) {
    this.events = db.collection<EventDoc>('events')
    this.items = db.collection<ItemDoc>('feed_items')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('events').createIndex({ groupId: 1, seq: 1 })
    await db.collection('events').createIndex({ groupId: 1, key: 1 }, { unique: true })
    await db.collection('feed_items').createIndex({ room: 1, kind: 1, client: 1, start: 1 })
  }

  /**
   * One insert per batch, not a round trip per event: the events go in order with the next seqs
   * (this node's last known, else the newest stored plus one). A duplicate stops the insert there
   * (ordered) and what went in stays: either the key was recorded before (that event is dropped)
   * or another writer took the seq (it is read again); the rest is tried again.
   */
  async append(groupId: string, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    const appended: StoredEvent[] = []
    let rest = unique(events)
    for (let claim = 0; rest.length > 0; claim++) {
      if (claim >= MAX_CLAIMS) throw new Error(`could not claim sequence numbers in group ${groupId}: too many concurrent writers`)
      const first = this.nextSeq.get(groupId) ?? (await this.lastSeq(groupId)) + 1
      const docs = rest.map(({ key, ...event }, i) => ({ _id: `${groupId}:${first + i}`, key, groupId, seq: first + i, ...event }))
      const inserted = await this.insertInOrder(docs)
      appended.push(...docs.slice(0, inserted).map(toEvent))
      this.rememberNext(groupId, first + inserted)
      rest = rest.slice(inserted)
      if (rest.length === 0) break
      this.nextSeq.delete(groupId)
      const recorded = await this.recordedKeys(groupId, rest.map((e) => e.key))
      rest = rest.filter((e) => !recorded.has(e.key))
    }
    return appended
  }

  private rememberNext(groupId: string, next: number): void {
    if (this.nextSeq.size >= REMEMBERED_GROUPS) this.nextSeq.clear() // bounded; a forgotten group is read again
    this.nextSeq.set(groupId, next)
  }

  /** Inserts in order; returns how many went in before a duplicate (a seq or key taken meanwhile). */
  private async insertInOrder(docs: EventDoc[]): Promise<number> {
    try {
      await this.events.insertMany(docs, { ordered: true })
      return docs.length
    } catch (error) {
      if (error instanceof MongoBulkWriteError && writeErrorsOf(error).every((e) => e.code === DUPLICATE_KEY)) return error.insertedCount
      if (isDuplicateKey(error)) return 0
      throw error
    }
  }

  async list(groupId: string, options: { after: number; limit: number; since: number }): Promise<StoredEvent[]> {
    if (options.limit <= 0) return []
    const docs = await this.events.find({ groupId, seq: { $gt: options.after }, at: { $gte: options.since } }).sort({ seq: 1 }).limit(options.limit).toArray()
    return docs.map(toEvent)
  }

  async recordedKeys(groupId: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set()
    const docs = await this.events.find({ groupId, key: { $in: [...new Set(keys)] } }, { projection: { key: 1 } }).toArray()
    return new Set(docs.map((doc) => doc.key))
  }

  async lastSeq(groupId: string): Promise<number> {
    const [last] = await this.events.find({ groupId }, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).toArray()
    return last?.seq ?? 0
  }

  async prune(groupId: string, before: number): Promise<void> {
    const newest = await this.lastSeq(groupId)
    await this.events.deleteMany({ groupId, seq: { $lt: newest }, at: { $lt: before } })
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.nextSeq.delete(groupId)
    await this.events.deleteMany({ groupId })
  }

  /**
   * Inserted in one command; the few already there (a range extended, a compaction retried) are
   * then replaced. Not an upsert each: a batch of hundreds took seconds on a MongoDB-wire server,
   * inside the compaction.
   */
  async putItems(room: string, items: readonly FeedItem[]): Promise<void> {
    if (items.length === 0) return
    const docs = items.map((item) => ({ _id: itemId(room, item), room, ...item }))
    const present = await this.insertNew(docs)
    if (present.length === 0) return
    await this.items.bulkWrite(present.map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })), { ordered: true })
  }

  /** Inserts what is new; returns the docs whose id was taken already. */
  private async insertNew(docs: ItemDoc[]): Promise<ItemDoc[]> {
    try {
      await this.items.insertMany(docs, { ordered: false })
      return []
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
      if (writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error
      return writeErrors.map((e) => docs[e.index] as ItemDoc)
    }
  }

  async itemsIn(room: string, kind: FeedItem['kind'], client: number, from: number, to: number): Promise<FeedItem[]> {
    if (to <= from) return []
    const docs = await this.items.find({ room, kind, client, start: { $gte: from, $lt: to } }).sort({ start: 1 }).toArray()
    return docs.map(toItem)
  }

  async itemAt(room: string, kind: FeedItem['kind'], client: number, clock: number): Promise<FeedItem | null> {
    const [doc] = await this.items.find({ room, kind, client, start: { $lte: clock } }).sort({ start: -1 }).limit(1).toArray()
    return doc !== undefined && clock < doc.end ? toItem(doc) : null
  }

  async dropItems(room: string, items: readonly FeedItem[]): Promise<void> {
    if (items.length === 0) return
    await this.items.deleteMany({ _id: { $in: items.map((item) => itemId(room, item)) } })
  }

  async deleteRoomItems(room: string): Promise<void> {
    await this.items.deleteMany({ room })
  }
}

function writeErrorsOf(error: MongoBulkWriteError): ReadonlyArray<{ code: number }> {
  const errors: ReadonlyArray<{ code: number }> | { code: number } = error.writeErrors
  return Array.isArray(errors) ? errors : [errors as { code: number }]
}

/** The first event of each key (a batch may name one change twice). */
function unique(events: readonly NewEvent[]): NewEvent[] {
  const seen = new Set<string>()
  return events.filter((event) => !seen.has(event.key) && seen.add(event.key))
}

function itemId(room: string, item: Pick<FeedItem, 'kind' | 'client' | 'start'>): string {
  return `${room}|${item.kind}|${item.client}|${item.start}`
}

function toEvent({ _id, key, ...event }: EventDoc): StoredEvent {
  return event
}

function toItem({ _id, room, ...item }: ItemDoc): FeedItem {
  return item
}
