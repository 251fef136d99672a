/**
 * Compaction: fold a room's updates into a snapshot tagged with the log id it covers, then trim
 * the log up to that id. The folding (apply, encode, split into pieces; carry each piece's
 * coverage, the state vector and the client-id bindings along) runs in a worker thread fed in
 * bounded batches, so the main thread only reads and writes: no room stalls while a big
 * document is compacted.
 *
 * A hot room folds its own bytes up to its log position (its base + the updates it kept up to
 * there: room-core.ts `foldPlan`), so a snapshot holds everything the log held up to its
 * watermark even if the log lost entries (a Redis restarted empty); the new base goes back into
 * the room through the core's one path for bases. Rooms with log entries but not hot here fold
 * from storage and the log, each entry cut to what the document lacked.
 *
 * Triggers: a room reaching COMPACT_EVERY_UPDATES, COMPACT_IDLE_MS after its last update,
 * COMPACT_MAX_WAIT_MS after its first update not folded however busy it stays (what a room holds
 * in memory is bounded in time as well as in count; a chat: CHAT_EVENT_DELAY_MS, so its messages
 * reach the change feed soon), eviction, and a periodic sweep for cold rooms. Failures retry with
 * exponential backoff; the data is safe in the log (and in the hot room) meanwhile.
 */
import * as Y from 'yjs'
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import type { LoggedUpdate } from '../../log/record-codec.ts'
import type { LogEntry, UpdateLog } from '../../log/types.ts'
import type { Logger } from '../../logger.ts'
import type { SnapshotStore } from '../../storage/types.ts'
import type { CompactionLease } from './compaction-lease.ts'
import type { StoredBase } from '../room/doc-bytes.ts'
import type { DocWorker } from '../workers/doc-worker-client.ts'
import type { Folder, FoldResult } from './folder.ts'
import type { CollabObserver } from '../observer.ts'
import type { Room } from '../room/room.ts'
import { loadBase } from '../room/room-loader.ts'
import { encodeSnapshot } from './snapshot-codec.ts'
import type { VersionKeeper } from '../../history/version-keeper.ts'
import type { TimedUpdate } from '../../history/edit-records.ts'
import { parseLogId } from '../../log/log-id.ts'
import { infoOrSkip } from '../room/room-loader.ts'
import { TurnSlicer, type Slicer } from '../turn-slicer.ts'
import { KnownContent } from '../sync/known-content.ts'
import type { Budget } from '../wire/budget.ts'

export interface CompactorDeps {
  snapshots: SnapshotStore
  log: UpdateLog
  lease: CompactionLease
  folder: Folder
  worker: DocWorker
  logger: Logger
  everyUpdates: number
  idleMs: number
  /**
   * Longest a hot room's first update not folded waits, however busy the room stays: a room
   * written every few seconds is never quiet for COMPACT_IDLE_MS, and would hold up to
   * COMPACT_EVERY_UPDATES updates in memory (each far bigger there than its bytes) for as long.
   */
  maxWaitMs: number
  /**
   * Rooms whose changes are events people wait for (a chat's messages, for the change feed and
   * webhooks): compacted at most this long after their first update not folded, however busy
   * they stay. Undefined: COMPACT_IDLE_MS after the last update (or COMPACT_EVERY_UPDATES).
   */
  eventDelayMs?: (room: Room) => number | undefined
  /**
   * Snapshot bytes this node may rewrite for such early folds (each stores the whole document):
   * past it, a room folds as any other (COMPACT_IDLE_MS), so members posting into many big chats
   * cannot keep the node rewriting them.
   */
  earlyFolds?: Pick<Budget, 'spend'>
  batchSize: number
  observer: CollabObserver
  /**
   * Whether a room's group still exists. A log left by a node that kept writing while the group
   * was deleted elsewhere is an orphan: the sweep removes it instead of folding it. Errors count
   * as "exists" (nothing is deleted on doubt).
   */
  roomExists(room: string): Promise<boolean>
  /** Keeps edit records and versions as snapshots are made (absent: no history). */
  history?: CompactionHistory
  /** Where a cold fold's main-thread work gives the event loop back (default: every SLICE_MS). */
  slicer?: () => Slicer
}

/** What compaction tells history (version-keeper.ts). */
export type CompactionHistory = Pick<VersionKeeper, 'recordEdits' | 'afterSnapshot' | 'forget'>

/** Deltas may grow to 1/DELTA_SHARE of the full part before the next compaction folds fully. */
const DELTA_SHARE = 4

/** How a hot room's compaction ended: folded (or nothing to fold), leased to another node, or behind another node's snapshot. */
type HotOutcome = 'compacted' | 'elsewhere' | 'behind'
const BASE_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 60_000

export class Compactor {
  private readonly timers = new Map<Room, NodeJS.Timeout>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly failures = new Map<string, number>()
  /** Rooms that left memory: nothing more is scheduled for them. */
  private readonly forgotten = new WeakSet<Room>()
  /** Rooms whose lease another node held at their last try: their timer tries again, not every batch. */
  private readonly leasedElsewhere = new WeakSet<Room>()
  /** When each hot room's oldest update not folded arrived (as this compactor heard of it). */
  private readonly waitingSince = new WeakMap<Room, number>()
  /** Where each hot room had read to when a stored snapshot was last found past it. */
  private readonly behindAt = new WeakMap<Room, LogId>()
  private readonly deps: CompactorDeps

  constructor(deps: CompactorDeps) {
    this.deps = deps
  }

  /** Called after updates were kept by a hot room. */
  noteApplied(room: Room): void {
    if (!this.waitingSince.has(room)) this.waitingSince.set(room, Date.now())
    if (this.running.has(room.name) || this.forgotten.has(room)) return // followUp looks again after it
    if (this.leasedElsewhere.has(room)) return // another node compacts: its timer looks again (followUp)
    if (room.foldable >= this.deps.everyUpdates && !this.failures.has(room.name)) void this.compactHot(room).catch(() => undefined)
    else if (!this.timers.has(room)) this.arm(room, this.failures.has(room.name) ? this.backoffMs(room.name) : this.firstDelayMs(room))
  }

  /** How long after a first update not folded the room is looked at. */
  private firstDelayMs(room: Room): number {
    return Math.min(this.deps.idleMs, this.deps.maxWaitMs, this.deps.eventDelayMs?.(room) ?? Infinity)
  }

  /** Snapshots a hot room now (after any compaction already running for it). */
  async compactHot(room: Room): Promise<void> {
    this.disarm(room)
    // One compaction of a room at a time here: callers in the same tick all wait for the one
    // running (a second would meet this node's own lease, as if another node held it).
    while (this.running.has(room.name)) await this.running.get(room.name)
    this.leasedElsewhere.delete(room)
    if (room.foldable === 0 || this.forgotten.has(room)) return
    const started = Date.now()
    let outcome: HotOutcome
    try {
      outcome = await this.track(room.name, () => this.snapshotHot(room))
    } catch (error) {
      if (!this.forgotten.has(room)) this.arm(room, this.backoffMs(room.name))
      throw error
    }
    if (outcome === 'compacted') this.restartWait(room, started)
    this.followUp(room, outcome)
  }

  /** What a fold left arrived after it began (or could not be folded yet): it waits from then. */
  private restartWait(room: Room, foldStarted: number): void {
    if (room.entriesSinceSnapshot > 0) this.waitingSince.set(room, foldStarted)
    else this.waitingSince.delete(room)
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
  private followUp(room: Room, outcome: HotOutcome): void {
    if (this.forgotten.has(room)) return
    if (outcome === 'elsewhere') {
      // Another node compacts: look again when the timer fires, not on every batch meanwhile.
      this.leasedElsewhere.add(room)
      this.arm(room, this.deps.idleMs)
    } else if (outcome === 'behind') {
      // Another node's snapshot is past what this one has read: the room reads on (or catches up
      // after a gap) before folding here; looking again at once would only spin.
      this.arm(room, this.deps.idleMs)
    } else if (room.foldable >= this.deps.everyUpdates) void this.compactHot(room).catch(() => undefined)
    else if (room.entriesSinceSnapshot > 0) this.arm(room, this.firstDelayMs(room))
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
    const now = Date.now()
    const quietFor = now - room.lastAppliedAt
    const waited = now - (this.waitingSince.get(room) ?? now)
    // A room with events due folds at its deadline, while the node's early folds can pay for it.
    const early = this.deps.eventDelayMs?.(room) !== undefined && (this.deps.earlyFolds?.spend(room.bytes.bytes) ?? true)
    const due = early || quietFor >= this.deps.idleMs || waited >= this.deps.maxWaitMs
    if (!due && !this.leasedElsewhere.has(room) && !this.failures.has(room.name)) this.arm(room, Math.min(this.deps.idleMs - quietFor, this.deps.maxWaitMs - waited))
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

  /** Folds what the room holds up to its position, unless another node holds the lease or is ahead. */
  private async snapshotHot(room: Room): Promise<HotOutcome> {
    const done = await this.deps.lease.withLease(room.name, async (): Promise<HotOutcome> => {
      const started = performance.now()
      if ((await this.adoptStored(room)) === 'behind') return 'behind' // another node compacted what this one has not read
      const plan = room.foldPlan()
      if (plan.updates.length === 0) return 'compacted'
      // Taken now, before the fold yields: while it runs, the room may move part of a held update
      // to an entry it reads (room-core.ts `claim`), and the fold must hold what the plan held.
      const batches = [...batchesOf(plan.updates, this.deps.batchSize)]
      const unrecorded = plan.updates.filter((a) => !a.recorded)
      const edits = unrecorded.map((a) => ({ at: parseLogId(a.id)[0], id: a.id, writer: a.writer, update: a.update, info: a.info, ...(a.relogged !== undefined && { place: a.relogged }) }))
      const next = await this.fold(plan.base, batches)
      await this.deps.history?.recordEdits(room.name, edits, (client) => next.bindings.get(client), plan.watermark)
      room.markRecorded(unrecorded) // before the save: a failed save must not record them again
      const snapshot = await this.persist(room.name, next, plan.watermark)
      await room.adoptBase({ ...next, watermark: plan.watermark })
      this.deps.observer.compacted(snapshot.length, performance.now() - started)
      await this.deps.history?.afterSnapshot(room.name, snapshot)
      return 'compacted'
    })
    return done ?? 'elsewhere'
  }

  /**
   * Another node may have stored a snapshot past this room's base: the room takes it as its base
   * if it has read the log that far (it holds all of it then), and folds from it. One beyond what
   * the room has read waits: the room reads those entries first (or catches up after a gap).
   * Found past it again with the room not one entry further, nothing is coming (a failover
   * dropped what it waits for): it catches up from the snapshot.
   */
  private async adoptStored(room: Room): Promise<'behind' | 'ok'> {
    const stored = await this.deps.snapshots.watermark(room.name)
    if (stored === null || compareLogIds(stored, room.bytes.baseWatermark) <= 0) return 'ok'
    if (compareLogIds(stored, room.watermark) > 0) {
      if (this.behindAt.get(room) !== room.watermark) {
        this.behindAt.set(room, room.watermark)
        return 'behind'
      }
      this.behindAt.delete(room)
      await room.catchUpToStored()
      return 'ok'
    }
    const { stored: _, ...base } = await loadBase(room.name, this.deps)
    await room.adoptBase(base)
    return 'ok'
  }

  private async foldCold(room: string): Promise<void> {
    await this.deps.lease.withLease(room, async () => {
      const started = performance.now()
      const { stored: _, ...base } = await loadBase(room, this.deps)
      const last = { id: base.watermark }
      const timed: TimedUpdate[] = []
      const known = new KnownContent(base.stateVector)
      base.pieces.forEach((piece, i) => known.addPiece(piece, base.infos[i]!))
      const next = await this.fold(base, this.logBatches(room, { after: base.watermark, last, timed, known }))
      if (last.id === base.watermark) return // nothing to fold
      await this.deps.history?.recordEdits(room, timed, (client) => next.bindings.get(client), last.id)
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

  /**
   * Log entries after `after`, in bounded batches, each update cut to what the document lacked
   * (`known`); `last` tracks the newest entry; `timed` collects the updates for history.
   */
  private async *logBatches(room: string, read: { after: LogId; last: { id: LogId }; timed: TimedUpdate[]; known: KnownContent }): AsyncIterable<LoggedUpdate[]> {
    let position = read.after
    for (;;) {
      const entries = await this.deps.log.read(room, position, this.deps.batchSize)
      if (entries.length > 0) {
        read.last.id = entries.at(-1)!.id
        const effective = await effectiveUpdates(room, entries, read.known, this.deps.logger, this.deps.slicer?.() ?? new TurnSlicer())
        if (this.deps.history) read.timed.push(...effective)
        yield effective.map(({ writer, update }) => ({ writer, update }))
      }
      if (entries.length < this.deps.batchSize) return
      position = read.last.id
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

/**
 * What each logged update added to the document, in log order, with its writer and log time.
 * Cutting a batch is main-thread work (~50 µs an update): it is done in slices of the event loop.
 */
async function effectiveUpdates(room: string, entries: LogEntry[], known: KnownContent, logger: Logger, slicer: Slicer): Promise<TimedUpdate[]> {
  const out: TimedUpdate[] = []
  for (const entry of entries) {
    const at = parseLogId(entry.id)[0]
    for (const { writer, update } of entry.updates) {
      const info = infoOrSkip(update, room, logger)
      const effective = info ? known.take(update, info) : null
      if (effective) out.push({ at, id: entry.id, writer, ...effective })
      if (slicer.due()) await slicer.yield()
    }
  }
  return out
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
