/**
 * Compaction: fold a room's log into a snapshot tagged with the log id it covers, then trim the
 * log up to that id. The folding (apply, encode, split into pieces) runs in a worker thread fed in
 * bounded batches, so the main thread only reads and writes: no room stalls while a big document
 * is compacted. A hot room folds from the base it already holds, unless another node has stored
 * a newer snapshot meanwhile; rooms with log entries but no hot doc here fold from storage.
 *
 * Triggers: a room reaching COMPACT_EVERY_UPDATES, COMPACT_IDLE_MS after its last update,
 * eviction, and a periodic sweep for cold rooms. Failures retry with exponential backoff; the
 * data is safe in the log meanwhile.
 */
import { compareLogIds, type LogId } from '../log/log-id.ts'
import type { UpdateLog } from '../log/types.ts'
import type { Logger } from '../logger.ts'
import type { SnapshotStore } from '../storage/types.ts'
import type { CompactionLease } from './compaction-lease.ts'
import type { Folder } from './folder.ts'
import type { CollabObserver } from './observer.ts'
import type { Room } from './room.ts'
import { loadBase, type Base } from './room-loader.ts'
import { encodeSnapshot } from './snapshot-codec.ts'
import { stateVectorOf } from './state-vectors.ts'

export interface CompactorDeps {
  snapshots: SnapshotStore
  log: UpdateLog
  lease: CompactionLease
  folder: Folder
  logger: Logger
  everyUpdates: number
  idleMs: number
  batchSize: number
  observer: CollabObserver
}

/** Deltas may grow to 1/DELTA_SHARE of the full part before the next compaction folds fully. */
const DELTA_SHARE = 4
const BASE_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 60_000

export class Compactor {
  private readonly timers = new Map<Room, NodeJS.Timeout>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly failures = new Map<string, number>()
  /** Rooms that left memory: nothing more is scheduled for them. */
  private readonly forgotten = new WeakSet<Room>()

  private readonly deps: CompactorDeps

  constructor(deps: CompactorDeps) {

    this.deps = deps
  }

  /** Called after updates were applied to a hot room. */
  noteApplied(room: Room): void {
    if (this.running.has(room.name) || this.failures.has(room.name)) return // a timer is armed
    if (room.entriesSinceSnapshot >= this.deps.everyUpdates) void this.compactHot(room).catch(() => undefined)
    else if (!this.timers.has(room)) this.arm(room, this.deps.idleMs)
  }

  /** Snapshots a hot room now (after any compaction already running for it). */
  async compactHot(room: Room): Promise<void> {
    this.disarm(room)
    await this.running.get(room.name)
    if (room.entriesSinceSnapshot === 0 || this.forgotten.has(room)) return
    let leased: boolean
    try {
      leased = await this.track(room.name, () => this.snapshotHot(room))
    } catch (error) {
      this.arm(room, this.backoffMs(room.name))
      throw error
    }
    this.followUp(room, leased)
  }

  /** Entries that arrived during the compaction may already call for the next one. */
  private followUp(room: Room, leased: boolean): void {
    if (this.forgotten.has(room)) return
    if (!leased) this.arm(room, this.deps.idleMs) // another node compacts; look again later
    else if (room.entriesSinceSnapshot >= this.deps.everyUpdates) void this.compactHot(room).catch(() => undefined)
    else if (room.entriesSinceSnapshot > 0) this.arm(room, this.deps.idleMs)
  }

  /** Folds a room that is not hot on this node. */
  async compactCold(room: string): Promise<void> {
    await this.track(room, () => this.foldCold(room))
  }

  /** Compacts every room with log entries that `isHot` says this node does not hold. */
  async sweep(isHot: (room: string) => boolean): Promise<void> {
    for (const room of await this.deps.log.roomsWithEntries()) {
      if (!isHot(room) && !this.running.has(room)) await this.compactCold(room).catch(() => undefined)
    }
  }

  /** The room is leaving memory; whatever it did not compact, the sweep will. */
  forget(room: Room): void {
    this.forgotten.add(room)
    this.disarm(room)
    this.failures.delete(room.name)
  }

  private arm(room: Room, delayMs: number): void {
    this.disarm(room)
    const timer = setTimeout(() => this.onTimer(room), delayMs)
    timer.unref()
    this.timers.set(room, timer)
  }

  private disarm(room: Room): void {
    clearTimeout(this.timers.get(room))
    this.timers.delete(room)
  }

  private onTimer(room: Room): void {
    this.timers.delete(room)
    const quietFor = Date.now() - room.lastAppliedAt
    if (!this.failures.has(room.name) && quietFor < this.deps.idleMs) this.arm(room, this.deps.idleMs - quietFor)
    else void this.compactHot(room).catch(() => undefined)
  }

  private backoffMs(room: string): number {
    const failures = this.failures.get(room) ?? 1
    return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (failures - 1))
  }

  private async track<T>(room: string, task: () => Promise<T>): Promise<T> {
    const run = task()
    this.running.set(room, run.then(() => undefined, () => undefined))
    try {
      const result = await run
      this.failures.delete(room)
      return result
    } catch (error) {
      const failures = (this.failures.get(room) ?? 0) + 1
      this.failures.set(room, failures)
      this.deps.observer.compactionFailed()
      this.deps.logger.warn({ err: error, room, failures }, 'compaction failed; will retry')
      throw error
    } finally {
      this.running.delete(room)
    }
  }

  /** Returns false when another node holds the room's lease. */
  private async snapshotHot(room: Room): Promise<boolean> {
    const done = await this.deps.lease.withLease(room.name, async () => {
      const started = performance.now()
      const watermark = room.watermark
      const covered = room.entriesSinceSnapshot // taken with the watermark, in the same tick
      const mark = room.compactionMark()
      const base = await this.freshestBase(room.name, room.base)
      const next = await this.fold(await this.withStateVector(base), this.entries(room.name, base.watermark, watermark))
      const bytes = await this.persist(room.name, next, watermark)
      room.rebase({ ...next, watermark }, mark)
      room.entriesSinceSnapshot = Math.max(0, room.entriesSinceSnapshot - covered)
      room.lastSnapshotAt = Date.now()
      this.deps.observer.compacted(bytes, performance.now() - started)
      return true
    })
    return done === true
  }

  private async foldCold(room: string): Promise<void> {
    await this.deps.lease.withLease(room, async () => {
      const started = performance.now()
      const base = await loadBase(room, this.deps.snapshots)
      const last = { id: base.watermark }
      const next = await this.fold(await this.withStateVector(base), this.entries(room, base.watermark, null, last))
      if (last.id === base.watermark) return // nothing to fold
      const bytes = await this.persist(room, next, last.id)
      this.deps.observer.compacted(bytes, performance.now() - started)
    })
  }

  /**
   * Appends the entries as a delta while the deltas stay under a quarter of the document, else
   * folds everything into a fresh full snapshot (which also drops content deleted since).
   */
  private async fold(base: Base, batches: AsyncIterable<Uint8Array[]>): Promise<Omit<Base, 'watermark'>> {
    const fullBytes = sizeOf(base.pieces.slice(0, base.full))
    const deltaBytes = sizeOf(base.pieces.slice(base.full))
    if (base.pieces.length === 0 || deltaBytes * DELTA_SHARE > fullBytes) {
      const { pieces, stateVector } = await this.deps.folder.fold('full', base, batches)
      return { pieces, full: pieces.length, stateVector }
    }
    const delta = await this.deps.folder.fold('delta', base, batches)
    return { pieces: [...base.pieces, ...delta.pieces], full: base.full, stateVector: delta.stateVector }
  }

  /** The room's base, or the stored snapshot if another node compacted past it meanwhile. */
  private async freshestBase(room: string, base: Base): Promise<Base | Omit<Base, 'stateVector'>> {
    const stored = await this.deps.snapshots.watermark(room)
    if (stored === null || compareLogIds(stored, base.watermark) <= 0) return base
    return loadBase(room, this.deps.snapshots)
  }

  /** A base read from storage has no state vector yet; a delta fold extends it. */
  private async withStateVector(base: Base | Omit<Base, 'stateVector'>): Promise<Base> {
    if ('stateVector' in base) return base
    return { ...base, stateVector: stateVectorOf(base.pieces) }
  }

  /** Log entries after `after` (up to `upTo` if given), in bounded batches; `last` tracks the newest. */
  private async *entries(room: string, after: LogId, upTo: LogId | null, last = { id: after }): AsyncIterable<Uint8Array[]> {
    let position = after
    for (;;) {
      const entries = await this.deps.log.read(room, position, this.deps.batchSize)
      const within = upTo === null ? entries : entries.filter((e) => compareLogIds(e.id, upTo) <= 0)
      if (within.length > 0) {
        last.id = (within.at(-1) as { id: LogId }).id
        yield within.flatMap((e) => e.updates.map((u) => u.update))
      }
      if (within.length < entries.length || entries.length < this.deps.batchSize) return
      position = last.id
    }
  }

  /** Save, then trim: after `save` a snapshot covering ≥ watermark exists, whichever writer won. */
  private async persist(room: string, next: Omit<Base, 'watermark'>, watermark: LogId): Promise<number> {
    const snapshot = encodeSnapshot(next.pieces, next.full)
    await this.deps.snapshots.save(room, snapshot, watermark)
    await this.deps.log.trim(room, watermark)
    return snapshot.length
  }
}

function sizeOf(pieces: Uint8Array[]): number {
  return pieces.reduce((sum, piece) => sum + piece.length, 0)
}
