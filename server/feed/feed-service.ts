/** Reading a group's feed: members of any role, paged by event id, from the oldest event kept. */
import { FEED_PAGE_MAX } from '../../shared/feed-api.ts'
import { badRequest } from '../errors.ts'
import type { AccessCache } from '../groups/access-cache.ts'
import { requireRole } from '../groups/guard.ts'
import type { FeedStore } from '../storage/feed-types.ts'
import { eventView, seqOfEventId, type EventView } from './event-view.ts'
import type { FeedRecorder } from './feed-recorder.ts'

const DEFAULT_PAGE = 50

export class FeedService {
  private readonly deps: { access: AccessCache; store: FeedStore; recorder: FeedRecorder }

  constructor(deps: { access: AccessCache; store: FeedStore; recorder: FeedRecorder }) {
    this.deps = deps
  }

  /** Throws unless `actor` is a member (404 for an unknown group, 403 for a non-member). */
  async authorize(actor: string, groupId: string): Promise<void> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
  }

  /** The seq an `after` (or Last-Event-ID) names; 0 (from the oldest kept) when absent. */
  afterSeq(groupId: string, after: string | undefined): number {
    if (after === undefined || after === '') return 0
    const seq = seqOfEventId(groupId, after)
    if (seq === null) throw badRequest('after must be an event id of this group')
    return seq
  }

  async page(actor: string, groupId: string, query: { after?: string; limit?: number }): Promise<{ events: EventView[]; next: string | null }> {
    await this.authorize(actor, groupId)
    const events = await this.read(groupId, this.afterSeq(groupId, query.after), query.limit ?? DEFAULT_PAGE)
    return { events, next: events.at(-1)?.id ?? query.after ?? null }
  }

  async read(groupId: string, after: number, limit: number): Promise<EventView[]> {
    const stored = await this.deps.store.list(groupId, { after, limit: Math.min(limit, FEED_PAGE_MAX), since: this.deps.recorder.horizon() })
    return stored.map(eventView)
  }
}
