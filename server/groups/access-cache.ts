/**
 * Who may do what in a group, cached: every socket connect and most requests ask. Entries live
 * for a short TTL and are dropped at once on change events (from every node, via the bus), so a
 * removed member loses access within the event's latency, not the TTL. Concurrent misses for one
 * key share a single load; a load that raced an invalidation is not cached.
 */
import type { Role } from '../collab/principal.ts'
import type { GroupRecord } from '../storage/records.ts'

/** The group, and the user's role in it (null: not a member). A missing group is `null` overall. */
export interface Access {
  group: GroupRecord
  role: Role | null
}

export type AccessLoader = (groupId: string, userId: string) => Promise<Access | null>

interface Entry {
  value: Promise<Access | null>
  expiresAt: number
}

export interface CacheOptions {
  ttlMs: number
  maxEntries: number
}

export class AccessCache {
  private readonly entries = new Map<string, Entry>()
  private readonly keysByGroup = new Map<string, Set<string>>()
  private readonly load: AccessLoader
  private readonly options: CacheOptions
  hits = 0
  misses = 0

  constructor(load: AccessLoader, options: CacheOptions) {
    this.load = load
    this.options = options
  }

  get(groupId: string, userId: string): Promise<Access | null> {
    const key = `${groupId}\u0000${userId}`
    const entry = this.entries.get(key)
    if (entry && entry.expiresAt > Date.now()) {
      this.hits++
      this.entries.delete(key) // re-insert: Map order is our LRU order
      this.entries.set(key, entry)
      return entry.value
    }
    this.misses++
    return this.fill(key, groupId, userId)
  }

  invalidateMember(groupId: string, userId: string): void {
    this.drop(`${groupId}\u0000${userId}`, groupId)
  }

  invalidateGroup(groupId: string): void {
    for (const key of this.keysByGroup.get(groupId) ?? []) this.entries.delete(key)
    this.keysByGroup.delete(groupId)
  }

  clear(): void {
    this.entries.clear()
    this.keysByGroup.clear()
  }

  private fill(key: string, groupId: string, userId: string): Promise<Access | null> {
    const value = this.load(groupId, userId)
    const entry: Entry = { value, expiresAt: Date.now() + this.options.ttlMs }
    this.entries.set(key, entry)
    this.index(groupId, key)
    this.evictOverflow()
    value.catch(() => this.entries.get(key) === entry && this.drop(key, groupId))
    return value
  }

  private index(groupId: string, key: string): void {
    const keys = this.keysByGroup.get(groupId) ?? new Set<string>()
    keys.add(key)
    this.keysByGroup.set(groupId, keys)
  }

  private drop(key: string, groupId: string): void {
    this.entries.delete(key)
    this.keysByGroup.get(groupId)?.delete(key)
  }

  private evictOverflow(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) return
      this.drop(key, key.slice(0, key.indexOf('\u0000')))
    }
  }
}
