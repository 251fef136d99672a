/**
 * The change feed in LevelDB: `events`: `<group>!<seq>` → event; `event-keys`: `<group>!<key>`
 * → seq (what was recorded already); `feed-items`: `<room>!<kind>!<client>!<start>` → index entry.
 * One process owns the store, so a per-group mutex makes "read the last seq, write the next" safe.
 */
import type { FeedItem, FeedStore, NewEvent, StoredEvent } from '../feed-types.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import { roomPrefix, sortableTime } from './history-keys.ts'
import { commit, jsonLevel, put, type JsonLevel, type Op } from './json-level.ts'
import { prefixRange, type LevelDb } from './level.ts'

type Stored = Omit<StoredEvent, 'groupId'> & { key: string }

export class EmbeddedFeed implements FeedStore {
  private readonly db: LevelDb
  private readonly events: JsonLevel<Stored>
  private readonly keys: JsonLevel<number>
  private readonly items: JsonLevel<FeedItem>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.events = jsonLevel(db, 'events')
    this.keys = jsonLevel(db, 'event-keys')
    this.items = jsonLevel(db, 'feed-items')
  }

  append(groupId: string, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    return this.mutex.run(groupId, async () => {
      let seq = await this.lastSeq(groupId)
      const prefix = roomPrefix(groupId)
      const recorded = events.length === 0 ? [] : await this.keys.getMany(events.map((e) => prefix + e.key))
      const appended: StoredEvent[] = []
      const ops: Op[] = []
      const seen = new Set<string>()
      for (const [i, { key, ...event }] of events.entries()) {
        if (recorded[i] !== undefined || seen.has(key)) continue
        seen.add(key)
        const stored = { ...event, seq: ++seq }
        ops.push(put(this.events, prefix + sortableTime(seq), { ...stored, key }), put(this.keys, prefix + key, seq))
        appended.push({ groupId, ...stored })
      }
      if (ops.length > 0) await commit(this.db, ops)
      return appended
    })
  }

  async list(groupId: string, options: { after: number; limit: number; since: number }): Promise<StoredEvent[]> {
    const prefix = roomPrefix(groupId)
    const out: StoredEvent[] = []
    if (options.limit <= 0) return out
    for await (const event of this.events.values({ gt: prefix + sortableTime(options.after), lt: prefixRange(prefix).lt })) {
      if (event.at < options.since) continue
      const { key: _, ...rest } = event
      out.push({ groupId, ...rest })
      if (out.length >= options.limit) break
    }
    return out
  }

  async recordedKeys(groupId: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set()
    const found = await this.keys.getMany(keys.map((key) => roomPrefix(groupId) + key))
    return new Set(keys.filter((_, i) => found[i] !== undefined))
  }

  async lastSeq(groupId: string): Promise<number> {
    const [last] = await this.events.values({ ...prefixRange(roomPrefix(groupId)), reverse: true, limit: 1 }).all()
    return last?.seq ?? 0
  }

  prune(groupId: string, before: number): Promise<void> {
    return this.mutex.run(groupId, async () => {
      const prefix = roomPrefix(groupId)
      const newest = await this.lastSeq(groupId)
      const ops: Op[] = []
      for await (const [key, event] of this.events.iterator({ gt: prefix, lt: prefix + sortableTime(newest) })) {
        if (event.at >= before) continue
        ops.push({ type: 'del', sublevel: this.events as JsonLevel<unknown>, key }, { type: 'del', sublevel: this.keys as JsonLevel<unknown>, key: prefix + event.key })
      }
      if (ops.length > 0) await commit(this.db, ops)
    })
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.mutex.run(groupId, async () => {
      const range = prefixRange(roomPrefix(groupId))
      await this.events.clear(range)
      await this.keys.clear(range)
    })
  }

  async putItems(room: string, items: readonly FeedItem[]): Promise<void> {
    if (items.length === 0) return
    await this.items.batch(items.map((item) => ({ type: 'put' as const, key: itemKey(room, item.kind, item.client, item.start), value: item })))
  }

  async itemsIn(room: string, kind: FeedItem['kind'], client: number, from: number, to: number): Promise<FeedItem[]> {
    if (to <= from) return []
    return this.items.values({ gte: itemKey(room, kind, client, from), lt: itemKey(room, kind, client, to) }).all()
  }

  async itemAt(room: string, kind: FeedItem['kind'], client: number, clock: number): Promise<FeedItem | null> {
    const [item] = await this.items.values({ gte: itemKey(room, kind, client, 0), lte: itemKey(room, kind, client, clock), reverse: true, limit: 1 }).all()
    return item !== undefined && item.start <= clock && clock < item.end ? item : null
  }

  async dropItems(room: string, items: readonly FeedItem[]): Promise<void> {
    if (items.length === 0) return
    await this.items.batch(items.map((item) => ({ type: 'del' as const, key: itemKey(room, item.kind, item.client, item.start) })))
  }

  async deleteRoomItems(room: string): Promise<void> {
    await this.items.clear(prefixRange(roomPrefix(room)))
  }
}

function itemKey(room: string, kind: string, client: number, start: number): string {
  return `${roomPrefix(room)}${kind}!${sortableTime(client)}!${sortableTime(start)}`
}
