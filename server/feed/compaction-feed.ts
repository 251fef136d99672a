/**
 * Feeds the change feed from compaction, which already holds each room's updates cut to what
 * the document lacked, under the room's lease, once per update in a cluster (a hot room marks
 * what it recorded; a retried cold fold meets the keys it recorded before). Nothing here runs
 * on the hot path: a chat message's event comes when its room is next compacted (within
 * CHAT_EVENT_DELAY_MS); a canvas's, COMPACT_IDLE_MS after the last edit, or every
 * COMPACT_EVERY_UPDATES.
 */
import { parseRoomName } from '../../shared/rooms.ts'
import type { CompactionHistory } from '../collab/compaction/compactor.ts'
import { TurnSlicer } from '../collab/turn-slicer.ts'
import type { TimedUpdate } from '../history/edit-records.ts'
import type { FeedStore } from '../storage/feed-types.ts'
import { canvasChanges } from './canvas-changes.ts'
import { chatChanges } from './chat-changes.ts'
import type { FeedRecorder } from './feed-recorder.ts'
import { ItemIndex } from './item-index.ts'

export class CompactionFeed {
  private readonly store: FeedStore
  private readonly recorder: FeedRecorder

  constructor(deps: { store: FeedStore; recorder: FeedRecorder }) {
    this.store = deps.store
    this.recorder = deps.recorder
  }

  /** Records the events of these updates (in log order), between storing the index's new entries and removing its old ones. */
  async record(room: string, updates: readonly TimedUpdate[]): Promise<void> {
    const ref = parseRoomName(room)
    if (!ref || updates.length === 0) return
    const index = new ItemIndex(room, this.store)
    const slicer = new TurnSlicer()
    const yieldDue = async (): Promise<void> => {
      if (slicer.due()) await slicer.yield()
    }
    const events = ref.kind === 'chat' ? await chatChanges(updates, index, (keys) => this.store.recordedKeys(ref.groupId, keys), yieldDue) : await canvasChanges(keyed(updates), index, yieldDue)
    await index.storeAdded()
    await this.recorder.record(ref.groupId, events)
    await index.storeDropped()
  }

  async forget(room: string): Promise<void> {
    await this.store.deleteRoomItems(room)
  }
}

/** Compaction's history hooks with the feed's added: a failure fails the compaction, which retries. */
export function withFeed(history: CompactionHistory, feed: CompactionFeed): CompactionHistory {
  return {
    recordEdits: async (room, updates, ownerOf, upTo) => {
      await history.recordEdits(room, updates, ownerOf, upTo) // the feed keys its events: a retry stores each once
      await feed.record(room, updates)
    },
    afterSnapshot: (room, state) => history.afterSnapshot(room, state),
    forget: async (room) => {
      await history.forget(room)
      await feed.forget(room)
    },
  }
}

/** Each update's place in the log (`<log id>#<n>` for the n-th update of one entry): stable across retries. */
function keyed(updates: readonly TimedUpdate[]): Array<TimedUpdate & { key: string }> {
  let lastId: string | undefined
  let n = 0
  return updates.map((update, i) => {
    n = update.id !== undefined && update.id === lastId ? n + 1 : 0
    lastId = update.id
    return { ...update, key: update.id === undefined ? `${update.at}~${i}` : `${update.id}#${n}` }
  })
}
