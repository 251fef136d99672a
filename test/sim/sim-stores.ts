/**
 * In-memory stand-ins for what the simulated nodes share besides the log: the snapshot store
 * (with the real store's rule that a snapshot never replaces a newer one), the compaction lease
 * (one holder at a time across nodes, movable by the simulation), history's edit records, and
 * the worker threads, run in-process so every step is deterministic.
 */
import { compareLogIds, type LogId } from '../../server/log/log-id.ts'
import type { CompactionLease } from '../../server/collab/compaction/compaction-lease.ts'
import type { CompactionHistory } from '../../server/collab/compaction/compactor.ts'
import { editRecords, notRecorded, type TimedUpdate } from '../../server/history/edit-records.ts'
import type { EditRecord, Snapshot, SnapshotStore } from '../../server/storage/types.ts'

export class MemorySnapshots implements SnapshotStore {
  private readonly stored = new Map<string, Snapshot>()
  /** Saves still to fail (the store answered with an error: nothing stored). */
  private failing = 0

  /** The next save fails. */
  failNextSave(): void {
    this.failing++
  }

  /** Saves succeed again. */
  heal(): void {
    this.failing = 0
  }

  async load(room: string): Promise<Snapshot | null> {
    return this.stored.get(room) ?? null
  }

  async watermark(room: string): Promise<LogId | null> {
    return this.stored.get(room)?.watermark ?? null
  }

  async save(room: string, update: Uint8Array, watermark: LogId): Promise<boolean> {
    if (this.failing > 0) {
      this.failing--
      throw new Error('snapshot store unavailable (simulated)')
    }
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
  /** Per room, the log id its edits are recorded up to (as the real store keeps it with the records). */
  private readonly marks = new Map<string, LogId>()

  async recordEdits(room: string, updates: readonly TimedUpdate[], ownerOf?: (client: number) => string | undefined, upTo?: LogId): Promise<void> {
    const records = editRecords(room, upTo === undefined ? updates : notRecorded(updates, this.marks.get(room) ?? null), ownerOf)
    if (process.env.SIM_DEBUG) console.log('RECORD', room, 'upTo', upTo, 'mark', this.marks.get(room), JSON.stringify(updates.map((u) => [u.id, u.place, u.writer, [...u.info.clients]])), '->', JSON.stringify(records.map((r) => [r.user, r.created])))
    if (records.length === 0) return
    this.records.push(...records)
    const marked = this.marks.get(room)
    if (upTo !== undefined && (marked === undefined || compareLogIds(upTo, marked) > 0)) this.marks.set(room, upTo)
  }

  async afterSnapshot(): Promise<void> {}

  async forget(): Promise<void> {}
}
