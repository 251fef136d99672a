/**
 * In-memory stand-ins for what the simulated nodes share besides the log: the snapshot store
 * (with the real store's rule that a snapshot never replaces a newer one), the compaction lease
 * (one holder at a time across nodes, movable by the simulation), history's edit records, and
 * the worker threads, run in-process so every step is deterministic.
 */
import { compareLogIds, type LogId } from '../../server/log/log-id.ts'
import type { CompactionLease } from '../../server/collab/compaction/compaction-lease.ts'
import type { CompactionHistory } from '../../server/collab/compaction/compactor.ts'
import { editRecords, type TimedUpdate } from '../../server/history/edit-records.ts'
import type { EditRecord, Snapshot, SnapshotStore } from '../../server/storage/types.ts'

export class MemorySnapshots implements SnapshotStore {
  private readonly stored = new Map<string, Snapshot>()

  async load(room: string): Promise<Snapshot | null> {
    return this.stored.get(room) ?? null
  }

  async watermark(room: string): Promise<LogId | null> {
    return this.stored.get(room)?.watermark ?? null
  }

  async save(room: string, update: Uint8Array, watermark: LogId): Promise<boolean> {
    const current = this.stored.get(room)
    if (current && compareLogIds(current.watermark, watermark) >= 0) return false
    this.stored.set(room, { update, watermark } as Snapshot)
    return true
  }

  async delete(room: string): Promise<void> {
    this.stored.delete(room)
  }
}

/** One holder per room across the simulated nodes; the simulation may give it to a node that never lets go. */
export class SimLease {
  private readonly held = new Map<string, string>()
  /** Holders that are no live node (`take`): only theirs lapse in `releaseAll`. */
  private readonly ghosts = new Set<string>()

  forNode(node: string): CompactionLease {
    return {
      withLease: async (room, task) => {
        if (this.held.has(room)) return undefined
        this.held.set(room, node)
        try {
          return await task()
        } finally {
          if (this.held.get(room) === node) this.held.delete(room)
        }
      },
    }
  }

  /** Another (dead) node holds the lease of `room` until released. */
  take(room: string, holder: string): void {
    this.ghosts.add(holder)
    if (!this.held.has(room)) this.held.set(room, holder)
  }

  release(room: string, holder: string): void {
    if (this.held.get(room) === holder) this.held.delete(room)
  }

  /**
   * Every lease taken by `take` goes (the dead holder's expiry passed). A live node's lease stays:
   * its compaction may still be running (a cold fold yielding between slices), and a lease that
   * lapsed under a live holder would let a second compaction of the room start beside it.
   */
  releaseAll(): void {
    for (const [room, holder] of this.held) if (this.ghosts.has(holder)) this.held.delete(room)
  }
}

/** History's edit records as compaction stores them. */
export class MemoryHistory implements CompactionHistory {
  readonly records: EditRecord[] = []

  async recordEdits(room: string, updates: readonly TimedUpdate[], ownerOf?: (client: number) => string | undefined): Promise<void> {
    this.records.push(...editRecords(room, updates, ownerOf))
  }

  async afterSnapshot(): Promise<void> {}

  async forget(): Promise<void> {}
}
