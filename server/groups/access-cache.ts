/**
 * Who may do what in a group, cached: every socket connect and most requests ask. Entries live
 * for a short TTL and are dropped at once on change events (from every node, via the bus), so a
 * removed member loses access within the event's latency, not the TTL.
 */
import type { Role } from '../collab/principal.ts'
import type { GroupRecord } from '../storage/records.ts'
import { TaggedCache, type CacheOptions } from './tagged-cache.ts'

/** The group, and the user's role in it (null: not a member). A missing group is `null` overall. */
export interface Access {
  group: GroupRecord
  role: Role | null
}

export type AccessLoader = (groupId: string, userId: string) => Promise<Access | null>

export type { CacheOptions }

export class AccessCache {
  private readonly cache: TaggedCache<Access | null>
  private readonly load: AccessLoader

  constructor(load: AccessLoader, options: CacheOptions) {
    this.load = load
    this.cache = new TaggedCache(options)
  }

  get hits(): number {
    return this.cache.hits
  }

  get(groupId: string, userId: string): Promise<Access | null> {
    return this.cache.get(`${groupId}\u0000${userId}`, [groupTag(groupId), memberTag(groupId, userId)], () => this.load(groupId, userId))
  }

  /** Reads the membership afresh (a lost event may have changed it); while storage cannot say, the cached one stands. */
  refresh(groupId: string, userId: string): Promise<Access | null> {
    return this.cache.refresh(`${groupId}\u0000${userId}`, [groupTag(groupId), memberTag(groupId, userId)], () => this.load(groupId, userId))
  }

  invalidateMember(groupId: string, userId: string): void {
    this.cache.invalidate(memberTag(groupId, userId))
  }

  invalidateGroup(groupId: string): void {
    this.cache.invalidate(groupTag(groupId))
  }

  clear(): void {
    this.cache.clear()
  }
}

const groupTag = (groupId: string): string => `group:${groupId}`
const memberTag = (groupId: string, userId: string): string => `member:${groupId}:${userId}`
