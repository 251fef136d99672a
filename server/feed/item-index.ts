/**
 * A room's item index as change detection uses it during one compaction: what the store holds,
 * overlaid with what this batch of updates added or removed. New entries are stored before the
 * batch's events and removed ones after, so a compaction that fails anywhere in between and is
 * retried finds every entry it needs to make the same events again (their keys make them once).
 */
import type { FeedItem, FeedStore } from '../storage/feed-types.ts'

type Kind = FeedItem['kind']

/**
 * Stored entries of one kind and client with `start` in [from, to), and the stored entry that
 * starts below `from` and may reach into it. Lookups are read a window at a time: a batch's
 * items are mostly a few runs of clocks per client, so two queries serve hundreds of lookups
 * that one query each made compaction seconds slower on a MongoDB server.
 */
interface Window {
  from: number
  to: number
  items: FeedItem[]
  before: FeedItem | null
}

const WINDOW_BEHIND = 1_024
const WINDOW_AHEAD = 16_384

export class ItemIndex {
  private readonly room: string
  private readonly store: FeedStore
  private readonly added = new Map<string, FeedItem>()
  /** `added` by kind and client, for `at` (a batch adds hundreds: not a scan of all of them per lookup). */
  private readonly addedByClient = new Map<string, Map<string, FeedItem>>()
  private readonly dropped = new Map<string, FeedItem>()
  private readonly windows = new Map<string, Window[]>()

  constructor(room: string, store: FeedStore) {
    this.room = room
    this.store = store
  }

  put(item: FeedItem): void {
    const key = keyOf(item.kind, item.client, item.start)
    this.dropped.delete(key)
    this.added.set(key, item)
    const byClient = this.addedByClient.get(clientKey(item.kind, item.client)) ?? new Map<string, FeedItem>()
    byClient.set(key, item)
    this.addedByClient.set(clientKey(item.kind, item.client), byClient)
  }

  drop(item: FeedItem): void {
    const key = keyOf(item.kind, item.client, item.start)
    this.added.delete(key)
    this.addedByClient.get(clientKey(item.kind, item.client))?.delete(key)
    this.dropped.set(key, item)
  }

  /** Entries of `kind` starting in [from, to) under `client`. */
  async within(kind: Kind, client: number, from: number, to: number): Promise<FeedItem[]> {
    const stored = await this.store.itemsIn(this.room, kind, client, from, to)
    const found = new Map(stored.map((item) => [keyOf(kind, client, item.start), item]))
    for (const [key, item] of this.added) if (item.kind === kind && item.client === client && item.start >= from && item.start < to) found.set(key, item)
    for (const key of this.dropped.keys()) found.delete(key)
    return [...found.values()].sort((a, b) => a.start - b.start)
  }

  /** The entry of `kind` whose range holds `clock` under `client`. */
  async at(kind: Kind, client: number, clock: number): Promise<FeedItem | null> {
    for (const item of this.addedByClient.get(clientKey(kind, client))?.values() ?? []) if (item.start <= clock && clock < item.end) return item
    const stored = await this.storedAt(kind, client, clock)
    return stored && !this.dropped.has(keyOf(kind, client, stored.start)) ? stored : null
  }

  /** Extends a point range that ends where this one starts (same client and stroke), else adds it. */
  async extend(item: FeedItem): Promise<void> {
    const covering = await this.at(item.kind, item.client, item.start)
    if (covering && covering.id === item.id && covering.end >= item.end) return // indexed by a compaction that was retried
    const before = item.start > 0 ? await this.at(item.kind, item.client, item.start - 1) : null
    if (before && before.id === item.id && before.end === item.start) this.put({ ...before, end: item.end })
    else this.put(item)
  }

  /** What the store holds at `clock` (as `FeedStore.itemAt`), read through a window. */
  private async storedAt(kind: Kind, client: number, clock: number): Promise<FeedItem | null> {
    const window = await this.windowAt(kind, client, clock)
    let covering = window.before
    for (const item of window.items) {
      if (item.start > clock) break
      covering = item
    }
    return covering && covering.start <= clock && clock < covering.end ? covering : null
  }

  private async windowAt(kind: Kind, client: number, clock: number): Promise<Window> {
    const windows = this.windows.get(clientKey(kind, client)) ?? []
    const hit = windows.find((w) => clock >= w.from && clock < w.to)
    if (hit) return hit
    const from = Math.max(0, clock - WINDOW_BEHIND)
    const to = clock + WINDOW_AHEAD
    const [items, before] = await Promise.all([
      this.store.itemsIn(this.room, kind, client, from, to),
      from > 0 ? this.store.itemAt(this.room, kind, client, from - 1) : Promise.resolve(null),
    ])
    const window = { from, to, items: [...items].sort((a, b) => a.start - b.start), before }
    this.windows.set(clientKey(kind, client), [...windows, window])
    return window
  }

  async storeAdded(): Promise<void> {
    await this.store.putItems(this.room, [...this.added.values()])
  }

  async storeDropped(): Promise<void> {
    await this.store.dropItems(this.room, [...this.dropped.values()])
  }
}

function clientKey(kind: Kind, client: number): string {
  return `${kind}:${client}`
}

function keyOf(kind: Kind, client: number, start: number): string {
  return `${kind}:${client}:${start}`
}
