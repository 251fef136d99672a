/**
 * Compaction: fold a room's updates into a snapshot tagged with the log id it covers, then trim
 * the log up to that id. The folding (apply, encode, split into pieces; carry each piece's
 * coverage, the state vector and the client-id bindings along) runs in a worker thread fed in
 * bounded batches, so the main thread only reads and writes: no room stalls while a big
 * document is compacted.
 *
 * A hot room folds its own bytes (base + every update it kept), so a snapshot holds everything
 * the room has even if the log lost entries (a Redis restarted empty). Rooms with log entries
 * but not hot here fold from storage and the log.
 *
 * Triggers: a room reaching COMPACT_EVERY_UPDATES, COMPACT_IDLE_MS after its last update,
 * eviction, and a periodic sweep for cold rooms. Failures retry with exponential backoff; the
 * data is safe in the log (and in the hot room) meanwhile.
 */
import * as Y from 'yjs'
import { compareLogIds, type LogId } from '../log/log-id.ts'
import type { LoggedUpdate } from '../log/record-codec.ts'
import type { LogEntry, UpdateLog } from '../log/types.ts'
import type { Logger } from '../logger.ts'
import type { SnapshotStore } from '../storage/types.ts'
import type { CompactionLease } from './compaction-lease.ts'
import type { StoredBase } from './doc-bytes.ts'
import type { DocWorker } from './doc-worker-client.ts'
import type { Folder, FoldResult } from './folder.ts'
import type { CollabObserver } from './observer.ts'
import type { Room } from './room.ts'
import { loadBase } from './room-loader.ts'
import { encodeSnapshot } from './snapshot-codec.ts'
import type { VersionKeeper } from '../history/version-keeper.ts'
import type { TimedUpdate } from '../history/edit-records.ts'
import { parseLogId } from '../log/log-id.ts'
import { infoOrSkip } from './room-loader.ts'

export interface CompactorDeps {
  snapshots: SnapshotStore
  log: UpdateLog
  lease: CompactionLease
  folder: Folder
  worker: DocWorker
  logger: Logger
  everyUpdates: number
  idleMs: number
  batchSize: number
  observer: CollabObserver
  /**
   * Whether a room's group still exists. A log left by a node that kept writing while the group
   * was deleted elsewhere is an orphan: the sweep removes it instead of folding it. Errors count
   * as "exists" (nothing is deleted on doubt).
   */
  roomExists(room: string): Promise<boolean>
  /** Keeps edit records and versions as snapshots are made (absent: no history). */
  history?: VersionKeeper
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

  /** Called after updates were kept by a hot room. */
  noteApplied(room: Room): void {
    if (this.running.has(room.name) || this.forgotten.has(room)) return // followUp looks again after it
    if (room.entriesSinceSnapshot >= this.deps.everyUpdates && !this.failures.has(room.name)) void this.compactHot(room).catch(() => undefined)
    else if (!this.timers.has(room)) this.arm(room, this.failures.has(room.name) ? this.backoffMs(room.name) : this.deps.idleMs)
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
      if (!this.forgotten.has(room)) this.arm(room, this.backoffMs(room.name))
      throw error
    }
    this.followUp(room, leased)
  }

  /** Folds a room that is not hot on this node. */
  async compactCold(room: string): Promise<void> {
    await this.track(room, () => this.foldCold(room))
  }

  /**
   * Compacts every room with log entries that `isHot` says this node does not hold. Never
   * rejects: a log that cannot list its rooms (Redis away) is logged and tried next sweep.
   */
  async sweep(isHot: (room: string) => boolean): Promise<void> {
    let rooms: string[]
    try {
      rooms = await this.deps.log.roomsWithEntries()
    } catch (error) {
      this.deps.observer.compactionFailed()
      this.deps.logger.warn({ err: error }, 'compaction sweep could not list rooms; next sweep retries')
      return
    }
    for (const room of rooms) {
      if (isHot(room) || this.running.has(room)) continue
      if (await this.deps.roomExists(room).catch(() => true)) await this.compactCold(room).catch(() => undefined)
      else await this.removeOrphan(room)
    }
  }

  private async removeOrphan(room: string): Promise<void> {
    try {
      await this.deps.log.deleteRoom(room)
      await this.deps.snapshots.delete(room)
      await this.deps.history?.forget(room)
      this.deps.logger.info({ room }, 'removed the log of a deleted group\'s room')
    } catch (error) {
      this.deps.logger.warn({ err: error, room }, 'could not remove an orphaned room log; next sweep retries')
    }
  }

  /** The room is leaving memory; whatever it did not compact, the sweep will. */
  forget(room: Room): void {
    this.forgotten.add(room)
    this.disarm(room)
    this.failures.delete(room.name)
  }

  /** Entries that arrived during the compaction may already call for the next one. */
  private followUp(room: Room, leased: boolean): void {
    if (this.forgotten.has(room)) return
    if (!leased) this.arm(room, this.deps.idleMs) // another node compacts; look again later
    else if (room.entriesSinceSnapshot >= this.deps.everyUpdates) void this.compactHot(room).catch(() => undefined)
    else if (room.entriesSinceSnapshot > 0) this.arm(room, this.deps.idleMs)
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
      const current = room.bytes.base()
      const { since } = room.bytes.contents()
      const newer = await this.newerStoredBase(room, watermark)
      if (newer === 'adopted') return
      const next = await this.fold(newer ?? current, batchesOf(since, this.deps.batchSize))
      const unrecorded = since.filter((a) => !a.recorded)
      await this.deps.history?.recordEdits(room.name, unrecorded.map((a) => ({ at: parseLogId(a.id)[0], writer: a.writer, update: a.update, info: a.info })))
      const snapshot = await this.persist(room.name, next, watermark)
      for (const accepted of unrecorded) accepted.recorded = true
      room.bytes.rebase({ ...next, watermark })
      room.rebased()
      room.entriesSinceSnapshot = Math.max(0, room.entriesSinceSnapshot - covered)
      room.lastSnapshotAt = Date.now()
      this.deps.observer.compacted(snapshot.length, performance.now() - started)
      await this.deps.history?.afterSnapshot(room.name, snapshot)
    })
    return done !== undefined
  }

  /**
   * Another node may have stored a snapshot past this room's base. At or past `watermark`, the
   * room takes it as its base and nothing is folded ('adopted'); below it, the fold starts from it.
   */
  private async newerStoredBase(room: Room, watermark: LogId): Promise<StoredBase | 'adopted' | null> {
    const stored = await this.deps.snapshots.watermark(room.name)
    if (stored === null || compareLogIds(stored, room.bytes.baseWatermark) <= 0) return null
    const { stored: _, ...base } = await loadBase(room.name, this.deps)
    if (compareLogIds(base.watermark, watermark) < 0) return base
    room.bytes.rebase(base)
    room.gates.build()
    room.rebased()
    return 'adopted'
  }

  private async foldCold(room: string): Promise<void> {
    await this.deps.lease.withLease(room, async () => {
      const started = performance.now()
      const { stored: _, ...base } = await loadBase(room, this.deps)
      const last = { id: base.watermark }
      const timed: TimedUpdate[] = []
      const next = await this.fold(base, this.logBatches(room, base.watermark, last, timed))
      if (last.id === base.watermark) return // nothing to fold
      await this.deps.history?.recordEdits(room, timed)
      const snapshot = await this.persist(room, next, last.id)
      this.deps.observer.compacted(snapshot.length, performance.now() - started)
      await this.deps.history?.afterSnapshot(room, snapshot)
    })
  }

  /**
   * Appends the updates as a delta while the deltas stay under a quarter of the document, else
   * folds everything into a fresh full snapshot (which also drops content deleted since).
   */
  private async fold(base: Omit<StoredBase, 'watermark'>, batches: AsyncIterable<LoggedUpdate[]> | Iterable<LoggedUpdate[]>): Promise<Omit<StoredBase, 'watermark'>> {
    const fullBytes = sizeOf(base.pieces.slice(0, base.full))
    const deltaBytes = sizeOf(base.pieces.slice(base.full))
    const foldBase = { pieces: base.pieces, stateVector: Y.encodeStateVector(new Map(base.stateVector)), bindings: base.bindings }
    if (base.pieces.length === 0 || deltaBytes * DELTA_SHARE > fullBytes) {
      const folded = await this.deps.folder.fold('full', foldBase, batches)
      return { ...asBase(folded), full: folded.pieces.length }
    }
    const delta = await this.deps.folder.fold('delta', foldBase, batches)
    return { ...asBase(delta), pieces: [...base.pieces, ...delta.pieces], infos: [...base.infos, ...delta.infos], full: base.full }
  }

  /** Log entries after `after`, in bounded batches; `last` tracks the newest; `timed` collects them for history. */
  private async *logBatches(room: string, after: LogId, last: { id: LogId }, timed: TimedUpdate[]): AsyncIterable<LoggedUpdate[]> {
    let position = after
    for (;;) {
      const entries = await this.deps.log.read(room, position, this.deps.batchSize)
      if (entries.length > 0) {
        last.id = entries.at(-1)!.id
        if (this.deps.history) for (const update of timedUpdates(room, entries, this.deps.logger)) timed.push(update)
        yield entries.flatMap((e) => e.updates)
      }
      if (entries.length < this.deps.batchSize) return
      position = last.id
    }
  }

  /** Save, then trim: after `save` a snapshot covering ≥ watermark exists, whichever writer won. */
  private async persist(room: string, next: Omit<StoredBase, 'watermark'>, watermark: LogId): Promise<Uint8Array> {
    const snapshot = encodeSnapshot(next.pieces, next.full, { infos: next.infos, stateVector: Y.encodeStateVector(new Map(next.stateVector)), bindings: next.bindings })
    await this.deps.snapshots.save(room, snapshot, watermark)
    await this.deps.log.trim(room, watermark, sizeOf(next.pieces)) // the log counts the document's size from the snapshot on
    return snapshot
  }
}

function timedUpdates(room: string, entries: LogEntry[], logger: Logger): TimedUpdate[] {
  return entries.flatMap((entry) => entry.updates.flatMap(({ writer, update }) => {
    const info = infoOrSkip(update, room, logger)
    return info ? [{ at: parseLogId(entry.id)[0], writer, update, info }] : []
  }))
}

function asBase(folded: FoldResult): Omit<StoredBase, 'watermark' | 'full'> {
  return { pieces: folded.pieces, infos: folded.infos, stateVector: Y.decodeStateVector(folded.stateVector), bindings: folded.bindings }
}

function* batchesOf(updates: readonly LoggedUpdate[], size: number): Iterable<LoggedUpdate[]> {
  for (let i = 0; i < updates.length; i += size) yield updates.slice(i, i + size).map(({ writer, update }) => ({ writer, update }))
}

function sizeOf(pieces: Uint8Array[]): number {
  return pieces.reduce((sum, piece) => sum + piece.length, 0)
}
