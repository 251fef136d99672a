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

export class MongoFeed implements FeedStore {
  private readonly events: Collection<EventDoc>
  private readonly items: Collection<ItemDoc>

  constructor(db: Db) {
    this.events = db.collection<EventDoc>('events')
    this.items = db.collection<ItemDoc>('feed_items')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('events').createIndex({ groupId: 1, seq: 1 })
    await db.collection('events').createIndex({ groupId: 1, key: 1 }, { unique: true })
    await db.collection('feed_items').createIndex({ room: 1, kind: 1, client: 1, start: 1 })
  }

  async append(groupId: string, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    const appended: StoredEvent[] = []
    for (const event of events) {
      const stored = await this.appendOne(groupId, event)
      if (stored) appended.push(stored)
    }
    return appended
  }

  private async appendOne(groupId: string, { key, ...event }: NewEvent): Promise<StoredEvent | null> {
    for (let claim = 0; claim < MAX_CLAIMS; claim++) {
      if (await this.events.findOne({ groupId, key }, { projection: { _id: 1 } })) return null
      const seq = (await this.lastSeq(groupId)) + 1
      const stored: StoredEvent = { groupId, seq, ...event }
      try {
        await this.events.insertOne({ _id: `${groupId}:${seq}`, key, ...stored })
        return stored
      } catch (error) {
        if (!isDuplicateKey(error)) throw error
      }
    }
    throw new Error(`could not claim a sequence number in group ${groupId}: too many concurrent writers`)
  }

  async list(groupId: string, options: { after: number; limit: number; since: number }): Promise<StoredEvent[]> {
    if (options.limit <= 0) return []
    const docs = await this.events.find({ groupId, seq: { $gt: options.after }, at: { $gte: options.since } }).sort({ seq: 1 }).limit(options.limit).toArray()
    return docs.map(toEvent)
  }

  async hasKey(groupId: string, key: string): Promise<boolean> {
    return (await this.events.findOne({ groupId, key }, { projection: { _id: 1 } })) !== null
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

function itemId(room: string, item: Pick<FeedItem, 'kind' | 'client' | 'start'>): string {
  return `${room}|${item.kind}|${item.client}|${item.start}`
}

function toEvent({ _id, key, ...event }: EventDoc): StoredEvent {
  return event
}

function toItem({ _id, room, ...item }: ItemDoc): FeedItem {
  return item
}
