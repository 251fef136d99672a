/**
 * A room's item index as change detection uses it during one compaction: what the store holds,
 * overlaid with what this batch of updates added or removed. New entries are stored before the
 * batch's events and removed ones after, so a compaction that fails anywhere in between and is
 * retried finds every entry it needs to make the same events again (their keys make them once).
 *
 * Stored entries are read a window of clocks at a time (per kind and client): a batch's items are
 * a few runs of clocks per client, so a couple of queries serve hundreds of lookups. One query
 * per lookup made a compaction of 1,000 updates take seconds on a MongoDB-wire server.
 */
import type { FeedItem, FeedStore } from '../storage/feed-types.ts'

type Kind = FeedItem['kind']

/** Stored entries starting in [from, to), and the one starting below `from` (it may reach into the window). */
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
  /** Entries this batch added, by kind and client. */
  private readonly added = new Map<string, Map<number, FeedItem>>()
  /**
   * The starts of the point runs this batch added, ascending, by client: a clock inside a run is
   * found by binary search (a scan of every run added per lookup made placing a 10 MiB canvas
   * quadratic: 0.4 s in one turn, figure 7).
   */
  private readonly runStarts = new Map<string, number[]>()
  private readonly dropped = new Map<string, FeedItem>()
  private readonly windows = new Map<string, Window[]>()

  constructor(room: string, store: FeedStore) {
    this.room = room
    this.store = store
  }

  put(item: FeedItem): void {
    this.dropped.delete(keyOf(item.kind, item.client, item.start))
    const byStart = this.added.get(clientKey(item.kind, item.client)) ?? new Map<number, FeedItem>()
    if (item.kind === 'pointrange' && !byStart.has(item.start)) this.insertRunStart(item.client, item.start)
    byStart.set(item.start, item)
    this.added.set(clientKey(item.kind, item.client), byStart)
  }

  drop(item: FeedItem): void {
    const byStart = this.added.get(clientKey(item.kind, item.client))
    if (item.kind === 'pointrange' && byStart?.has(item.start)) this.removeRunStart(item.client, item.start)
    byStart?.delete(item.start)
    this.dropped.set(keyOf(item.kind, item.client, item.start), item)
  }

  /** Entries of `kind` starting in [from, to) under `client`. */
  async within(kind: Kind, client: number, from: number, to: number): Promise<FeedItem[]> {
    const stored = await this.storedIn(kind, client, from, to)
    const found = new Map(stored.map((item) => [item.start, item]))
    for (const item of this.added.get(clientKey(kind, client))?.values() ?? []) if (item.start >= from && item.start < to) found.set(item.start, item)
    for (const start of found.keys()) if (this.dropped.has(keyOf(kind, client, start))) found.delete(start)
    return [...found.values()].sort((a, b) => a.start - b.start)
  }

  /** The entry of `kind` whose range holds `clock` under `client`. */
  async at(kind: Kind, client: number, clock: number): Promise<FeedItem | null> {
    const added = this.added.get(clientKey(kind, client))
    const exact = added?.get(clock)
    if (exact) return exact
    // Only point runs span more than one clock: the others are found exactly. Runs of one client
    // never overlap, so the run holding `clock` is the one starting last at or below it.
    if (kind === 'pointrange') {
      const starts = this.runStarts.get(String(client)) ?? []
      const run = added?.get(starts[lastAtOrBelow(starts, clock)] ?? -1)
      if (run && clock < run.end) return run
    }
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

  async storeAdded(): Promise<void> {
    for (const part of parts([...this.added.values()].flatMap((byStart) => [...byStart.values()]))) await this.store.putItems(this.room, part)
  }

  async storeDropped(): Promise<void> {
    for (const part of parts([...this.dropped.values()])) await this.store.dropItems(this.room, part)
  }

  private insertRunStart(client: number, start: number): void {
    const starts = this.runStarts.get(String(client)) ?? []
    starts.splice(lastAtOrBelow(starts, start) + 1, 0, start)
    this.runStarts.set(String(client), starts)
  }

  private removeRunStart(client: number, start: number): void {
    const starts = this.runStarts.get(String(client))
    const at = starts ? lastAtOrBelow(starts, start) : -1
    if (starts && starts[at] === start) starts.splice(at, 1)
  }

  private async storedAt(kind: Kind, client: number, clock: number): Promise<FeedItem | null> {
    const window = await this.windowAt(kind, client, clock)
    let covering = window.before
    for (const item of window.items) {
      if (item.start > clock) break
      covering = item
    }
    return covering && covering.start <= clock && clock < covering.end ? covering : null
  }

  private async storedIn(kind: Kind, client: number, from: number, to: number): Promise<FeedItem[]> {
    if (to <= from) return []
    const window = await this.windowAt(kind, client, from)
    if (to > window.to) return this.store.itemsIn(this.room, kind, client, from, to) // a long deletion: read as one range
    return window.items.filter((item) => item.start >= from && item.start < to)
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
}

/** Writes go in parts, so encoding one never holds the event loop long. */
const WRITE_PART = 500

function parts<T>(items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += WRITE_PART) out.push(items.slice(i, i + WRITE_PART))
  return out
}

function clientKey(kind: Kind, client: number): string {
  return `${kind}:${client}`
}

function keyOf(kind: Kind, client: number, start: number): string {
  return `${kind}:${client}:${start}`
}

/** The index of the last of ascending `values` at or below `value` (-1 when none is). */
function lastAtOrBelow(values: readonly number[], value: number): number {
  let low = 0
  let high = values.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (values[middle]! <= value) low = middle + 1
    else high = middle
  }
  return low - 1
}
