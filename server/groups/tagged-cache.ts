/**
 * A small cache of loaded values with a TTL and an LRU bound. Concurrent misses for one key
 * share a single load; entries carry tags (e.g. a group id) so a change can drop every entry
 * that depends on it; a load that raced an invalidation is not kept. A TTL of 0 disables caching.
 * With `staleIfErrorMs`, a value that expired (never one that was invalidated) is served again
 * when loading it afresh fails, until it is that much older than its TTL.
 */
interface Entry<V> {
  value: Promise<V>
  expiresAt: number
  /** When the value was loaded (a stale value served again keeps its age). */
  loadedAt: number
  tags: Set<string>
}

export interface CacheOptions {
  ttlMs: number
  maxEntries: number
  staleIfErrorMs?: number
}

export class TaggedCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private readonly byTag = new Map<string, Set<string>>()
  private readonly options: CacheOptions
  hits = 0
  misses = 0

  constructor(options: CacheOptions) {
    this.options = options
  }

  /** The cached value for `key`, or `load()`'s, tagged with `tags` (plus any `tagsOf` the value). */
  get(key: string, tags: string[], load: () => Promise<V>, tagsOf?: (value: V) => string[]): Promise<V> {
    const entry = this.entries.get(key)
    if (entry && entry.expiresAt > Date.now()) {
      this.hits++
      this.entries.delete(key) // re-insert: Map order is the LRU order
      this.entries.set(key, entry)
      return entry.value
    }
    this.misses++
    if (this.options.ttlMs === 0) return load()
    return this.fill(key, tags, load, tagsOf, this.staleFor(entry))
  }

  /** Loads `key` afresh whatever the cache holds; if that fails, what it held stands (see staleIfErrorMs). */
  refresh(key: string, tags: string[], load: () => Promise<V>): Promise<V> {
    this.misses++
    return this.fill(key, tags, load, undefined, this.staleFor(this.entries.get(key)))
  }

  /** Tags currently indexed (bounded by the entries' tags: empty tags are removed). */
  get tagCount(): number {
    return this.byTag.size
  }

  invalidate(tag: string): void {
    for (const key of this.byTag.get(tag) ?? []) this.drop(key)
    this.byTag.delete(tag)
  }

  clear(): void {
    this.entries.clear()
    this.byTag.clear()
  }

  /** The entry to fall back on if a fresh load fails: one not older than TTL + staleIfErrorMs. */
  private staleFor(entry: Entry<V> | undefined): Entry<V> | undefined {
    return entry && Date.now() - entry.loadedAt < this.options.ttlMs + (this.options.staleIfErrorMs ?? 0) ? entry : undefined
  }

  private fill(key: string, tags: string[], load: () => Promise<V>, tagsOf?: (value: V) => string[], stale?: Entry<V>): Promise<V> {
    const fresh = load()
    const value = stale ? fresh.catch(() => stale.value) : fresh
    const entry: Entry<V> = { value, expiresAt: Date.now() + this.options.ttlMs, loadedAt: Date.now(), tags: new Set() }
    if (stale) void fresh.then(() => undefined, () => { entry.loadedAt = stale.loadedAt })
    this.entries.set(key, entry)
    this.tag(key, entry, tags)
    this.evictOverflow()
    entry.value.then(
      (value) => { if (tagsOf && this.entries.get(key) === entry) this.tag(key, entry, tagsOf(value)) },
      () => { if (this.entries.get(key) === entry) this.drop(key) },
    )
    return entry.value
  }

  private tag(key: string, entry: Entry<V>, tags: string[]): void {
    for (const tag of tags) {
      entry.tags.add(tag)
      const keys = this.byTag.get(tag) ?? new Set<string>()
      keys.add(key)
      this.byTag.set(tag, keys)
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    for (const tag of entry.tags) {
      const keys = this.byTag.get(tag)
      keys?.delete(key)
      // An empty tag would outlive its entries: one per random id anyone asks for.
      if (keys?.size === 0) this.byTag.delete(tag)
    }
  }

  private evictOverflow(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) return
      this.drop(key)
    }
  }
}
