/**
 * The one way events enter a group's feed: appended in order (storage numbers them), then this
 * node's listeners are told (the webhook dispatcher and open event streams wake at once; other
 * nodes' poll). Old events are pruned as the group records new ones, at most once a minute.
 */
import type { Logger } from '../logger.ts'
import type { FeedStore, NewEvent, StoredEvent } from '../storage/feed-types.ts'

const PRUNE_EVERY_MS = 60_000
/** Events appended per storage call, so encoding a big batch never holds the event loop long. */
const APPEND_PART = 500

export class FeedRecorder {
  private readonly store: FeedStore
  private readonly retentionMs: number
  private readonly logger: Logger
  private readonly listeners = new Set<(groupId: string) => void>()
  private readonly prunedAt = new Map<string, number>()

  constructor(deps: { store: FeedStore; retentionMs: number; logger: Logger }) {
    this.store = deps.store
    this.retentionMs = deps.retentionMs
    this.logger = deps.logger
  }

  /** Appends; rejects when storage does (a compaction then fails and is retried). */
  async record(groupId: string, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return []
    const appended: StoredEvent[] = []
    for (let i = 0; i < events.length; i += APPEND_PART) appended.push(...await this.store.append(groupId, events.slice(i, i + APPEND_PART)))
    if (appended.length > 0) for (const listener of this.listeners) listener(groupId)
    await this.pruneNowAndThen(groupId)
    return appended
  }

  /**
   * For a change already made (a REST write): an event that cannot be stored is logged, and the
   * request still succeeds; the change itself is not undone for want of its event.
   */
  async recordMade(groupId: string, event: NewEvent): Promise<void> {
    try {
      await this.record(groupId, [event])
    } catch (error) {
      this.logger.warn({ err: error, groupId, type: event.type }, 'could not record a feed event for a change that was made')
    }
  }

  onAppend(listener: (groupId: string) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The oldest `at` still served. */
  horizon(now = Date.now()): number {
    return Math.max(0, now - this.retentionMs)
  }

  private async pruneNowAndThen(groupId: string): Promise<void> {
    const now = Date.now()
    if ((this.prunedAt.get(groupId) ?? 0) + PRUNE_EVERY_MS > now) return
    this.prunedAt.set(groupId, now)
    if (this.prunedAt.size > 10_000) this.prunedAt.clear() // bounded; a forgotten group just prunes again
    await this.store.prune(groupId, this.horizon(now)).catch((error: unknown) => this.logger.warn({ err: error, groupId }, 'could not prune old feed events'))
  }
}
