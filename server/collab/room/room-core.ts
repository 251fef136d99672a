/**
 * The one owner of a hot room's document state: its base (the stored snapshot's pieces and the
 * log id they cover), the updates kept since, the log position read up to, and this node's
 * batches on their way to the log. Nothing else changes them; everything that does is one of
 * these commands:
 *
 *   sent(writes)        this node sends a batch to the log: the tag to append it under
 *   appended(tag, id)   the log answered that append: the batch is entry `id`
 *   appendFailed(tag)   that append failed: the batch was not kept (unless its entry was read)
 *   read(entries)       entries read from the log, in log order, this node's own among them
 *   adoptBase(base)     a snapshot becomes the base (a compaction here or elsewhere, a gap reload)
 *   markRecorded(...)   history stored the edit records of kept updates
 *
 * What holds, whatever order the log's answers and reads come in:
 * - Each entry enters once: this node's own by whichever of its append's answer and its read
 *   comes first (the tag says which batch it is), every other one when read.
 * - What enters is what the document lacked (sync/effective-update.ts), and it reaches every
 *   synced socket once: the writer's too, and only once logged, so the echo is the writer's
 *   acknowledgement that the update is durable.
 * - The position and the base's watermark never go backwards. Every entry up to the position is
 *   held (in the base or kept since); own entries beyond it are held and skipped when read.
 * - Every base replacement goes through `adoptBase`: sockets get what the base adds, once.
 * - The bytes counted are the bytes held (DocBytes counts what it holds).
 */
import { compareLogIds, LOG_START, type LogId } from '../../log/log-id.ts'
import type { LogEntry } from '../../log/types.ts'
import type { TrustedUpdate } from '../content/content-gate.ts'
import { DeletedRanges, readDeleteSet, type DeleteRange } from '../sync/delete-set.ts'
import { effectivePart, type Knowledge } from '../sync/effective-update.ts'
import { coverage, deletionUpdate, updateInfo, type UpdateInfo } from '../sync/update-info.ts'
import { DocBytes, type Accepted, type StoredBase } from './doc-bytes.ts'
import type { PendingWrite } from './room-writer.ts'
import { SERVER } from './origins.ts'

/** The document as everything but the core may see it: read, never changed. */
export type DocReader = Omit<DocBytes, 'add' | 'rebase' | 'markRecorded'>

/** What the core tells the rest of the room. */
export interface CorePorts {
  /** An update entered: send it to every socket that has synced (the writer's included). */
  relay(update: Uint8Array): void
  /** Content entered that the content gate has not taken in yet, with the base's bindings. */
  trust(updates: TrustedUpdate[], bindings?: ReadonlyMap<number, string>): void
  /** This node's write reached the log as entry `id` (first in the log keeps a unique key). */
  logged(write: PendingWrite, id: LogId): void
  /** Pieces of a base diffed against a state vector (in the doc worker when big). */
  diff(pieces: Uint8Array[], stateVector: Uint8Array): Promise<Uint8Array[]>
  /** What a logged update covers, or null (logged loudly) when it does not decode. */
  infoOf(update: Uint8Array): UpdateInfo | null
  /** The document changed (compaction scheduling, caches, held updates). */
  changed(): void
  /** Writes that entered after the log lost what it held: their entry may be gone with it. */
  lost(writes: PendingWrite[]): void
}

/** What a compaction folds: the base and the updates kept up to the position, covering `watermark`. */
export interface FoldPlan {
  base: StoredBase
  updates: Accepted[]
  watermark: LogId
}

export interface LoadedState {
  base: StoredBase
  /** Log entries after the base's watermark, in log order. */
  entries: LogEntry[]
}

export class RoomCore {
  private readonly state: DocBytes
  private pos: LogId
  /** Own entries held beyond the position (skipped when read). */
  private readonly ownAhead = new Set<LogId>()
  private readonly inFlight = new Map<string, PendingWrite[]>()
  /** Batches on their way to the log when it lost what it held. */
  private readonly sentBeforeReset = new Set<string>()
  private readonly tagPrefix: string
  private seq = 0
  private readonly ports: CorePorts

  /** `node`: this process's id, unique among the log's writers (it prefixes every tag). */
  constructor(loaded: LoadedState, node: string, ports: CorePorts) {
    this.state = new DocBytes(loaded.base)
    this.pos = loaded.base.watermark
    this.tagPrefix = `${node}:`
    this.ports = ports
    for (const entry of loaded.entries) if (this.advance(entry.id)) this.keepEntry(entry, false)
  }

  get doc(): DocReader {
    return this.state
  }

  /** Every log entry up to here is held. */
  get position(): LogId {
    return this.pos
  }

  /** Kept updates a compaction could fold now: those up to the position, if it is past the base. */
  get foldable(): number {
    if (compareLogIds(this.pos, this.state.baseWatermark) <= 0) return 0
    return this.state.updateCount - this.state.countAfter(this.pos)
  }

  /** Writes sent to the log and not entered yet (neither answered nor read). */
  get unsettled(): number {
    return this.inFlight.size
  }

  /** This node sends `writes` to the log as one batch: the tag to append it under. */
  sent(writes: PendingWrite[]): string {
    const tag = `${this.tagPrefix}${++this.seq}`
    this.inFlight.set(tag, writes)
    return tag
  }

  /** The log answered an append: its batch enters, unless its entry was read first. */
  appended(tag: string, id: LogId): void {
    const writes = this.inFlight.get(tag)
    if (writes) this.enterOwn(tag, writes, id)
  }

  /**
   * An append failed. True when its batch had not entered (the caller drops it: nothing of it
   * was kept); false when its entry was read all the same (the log took it after all).
   */
  appendFailed(tag: string): boolean {
    this.sentBeforeReset.delete(tag)
    return this.inFlight.delete(tag)
  }

  /** Entries read from the log, in log order (entries at or before the position are skipped). */
  read(entries: readonly LogEntry[]): void {
    const foldable = this.foldable
    let entered = false
    for (const entry of entries) {
      if (!this.advance(entry.id)) continue
      const own = this.inFlight.get(entry.tag)
      if (own) this.enterOwn(entry.tag, own, entry.id)
      else entered = this.keepEntry(entry, true) || entered
    }
    if (entered || this.foldable > foldable) this.ports.changed() // own entries read back become foldable
  }

  /**
   * A snapshot becomes the base if it covers more of the log than the current one. Sockets get
   * what it holds that the document lacked (nothing, after a compaction of this room's own
   * bytes; entries this node never read, after a gap). False when it is not newer.
   */
  async adoptBase(base: StoredBase): Promise<boolean> {
    if (compareLogIds(base.watermark, this.state.baseWatermark) <= 0) return false
    const lacking = base.pieces.filter((_, i) => coverage(base.infos[i]!, this.state.vectorMap) !== 'all')
    const diffs = lacking.length > 0 ? await this.ports.diff(lacking, this.state.stateVector()) : []
    if (compareLogIds(base.watermark, this.state.baseWatermark) <= 0) return false // a newer base came meanwhile
    this.replaceBase(base, diffs)
    return true
  }

  /**
   * The log lost what it held (a Redis without persistence restarted). What the room holds beyond
   * its base goes to the log again (the caller relogs it); batches on their way there may have
   * landed before the loss: once they enter, they are handed back to be logged again too.
   */
  logLost(): void {
    this.state.markLost()
    for (const tag of this.inFlight.keys()) this.sentBeforeReset.add(tag)
  }

  /** What a compaction folds now (nothing when the base already covers the position). */
  foldPlan(): FoldPlan {
    const updates = compareLogIds(this.pos, this.state.baseWatermark) > 0 ? this.state.upTo(this.pos) : []
    return { base: this.state.base(), updates, watermark: this.pos }
  }

  /** History stored the edit records of these kept updates. */
  markRecorded(updates: readonly Accepted[]): void {
    this.state.markRecorded(updates)
  }

  /** Moves the position to `id`; false when the entry is at or before it, or is an own one held. */
  private advance(id: LogId): boolean {
    if (compareLogIds(id, this.pos) <= 0) return false
    this.pos = id
    return !this.ownAhead.delete(id)
  }

  /**
   * This node's batch is entry `id`. An update written again after the log lost it takes `id`
   * as its place; a batch sent before the loss may have been lost with it, so what it kept is
   * written again too.
   */
  private enterOwn(tag: string, writes: PendingWrite[], id: LogId): void {
    this.inFlight.delete(tag)
    const lost = this.sentBeforeReset.delete(tag)
    const again: PendingWrite[] = []
    let kept = false
    for (const write of writes) {
      const accepted = this.keep({ id, writer: write.writer, update: write.update, info: write.info })
      if (write.relogOf) this.state.relogged(write.relogOf, id)
      if (accepted && lost) again.push({ ...write, update: accepted.update, info: accepted.info, relogOf: this.state.lose(accepted) })
      kept ||= accepted !== null
      this.ports.logged(write, id)
    }
    if (compareLogIds(id, this.pos) > 0) this.ownAhead.add(id)
    for (const write of writes) write.settle?.()
    if (kept) this.ports.changed()
    if (again.length > 0) this.ports.lost(again)
  }

  /** Another writer's entry (or this node's from before, or one whose append seemed to fail). */
  private keepEntry(entry: LogEntry, live: boolean): boolean {
    const trusted: TrustedUpdate[] = []
    let kept = false
    for (const { writer, update } of entry.updates) {
      const info = this.ports.infoOf(update)
      if (!info) continue
      trusted.push({ writer, update, at: entry.id })
      kept = this.keep({ id: entry.id, writer, update, info }, live) !== null || kept
    }
    if (live && trusted.length > 0) this.ports.trust(trusted)
    return kept
  }

  /**
   * Keeps what the document lacks of an update, and relays it; false when it lacked nothing. One
   * that builds on clocks the document lacks is parked until they arrive (only a log read out of
   * order, as after a reset, has such updates): kept now, it would leave the document with a hole,
   * and what of a later update is new could no longer be told by the state vector.
   */
  private keep(accepted: Accepted, relay = true): Accepted | null {
    if (!continues(accepted.info, this.state.knowledge)) {
      this.state.park(accepted)
      return accepted
    }
    const effective = effectivePart(accepted.update, accepted.info, this.state.knowledge)
    if (!effective) return null
    const kept = { ...accepted, update: effective.update, info: effective.info }
    this.state.add(kept)
    if (relay) this.ports.relay(effective.update)
    if (this.state.parkedUpdates.length > 0) this.unparkReady(relay)
    return kept
  }

  /** Parked updates whose missing clocks arrived are kept (or dropped, when nothing of them is new). */
  private unparkReady(relay: boolean): void {
    for (let ready = this.nextUnparked(); ready; ready = this.nextUnparked()) {
      this.state.unpark(ready)
      this.keep(ready, relay)
    }
  }

  private nextUnparked(): Accepted | undefined {
    return this.state.parkedUpdates.find((parked) => continues(parked.info, this.state.knowledge))
  }

  private replaceBase(base: StoredBase, diffs: Uint8Array[]): void {
    const adds = [...diffs.flatMap((diff) => newStructsOf(diff, this.state.knowledge)), ...newDeletions(base, this.state.knowledge)]
    const orphans = this.state.rebase(base)
    if (orphans.length > 0) this.ports.lost(orphans.map((accepted) => ({ update: accepted.update, info: accepted.info, writer: accepted.writer, origin: SERVER, relogOf: accepted })))
    if (compareLogIds(base.watermark, this.pos) > 0) this.pos = base.watermark
    this.forgetOwnBefore(this.pos)
    for (const add of adds) this.ports.relay(add)
    this.ports.trust(adds.map((update) => ({ writer: '', update, at: LOG_START })), base.bindings)
    this.ports.changed()
  }

  /** Own entries the position passed are held like any other. */
  private forgetOwnBefore(position: LogId): void {
    for (const id of this.ownAhead) if (compareLogIds(id, position) <= 0) this.ownAhead.delete(id)
  }
}

/** Every client's structs in the update start at or before what the document holds of that client. */
function continues(info: UpdateInfo, known: Knowledge): boolean {
  for (const [client, [first]] of info.clients) if (first > known.knownUpTo(client)) return false
  return true
}

/** The structs of a diff the document lacks (its delete set is handled with the base's). */
function newStructsOf(diff: Uint8Array, known: Knowledge): Uint8Array[] {
  const structsOnly: Knowledge = { knownUpTo: known.knownUpTo, ...(known.heldPast && { heldPast: known.heldPast }), undeleted: () => [] }
  const effective = effectivePart(diff, updateInfo(diff), structsOnly)
  return effective ? [effective.update] : []
}

/** One update deleting what the base deletes and the document has not (each range once). */
function newDeletions(base: StoredBase, known: Knowledge): Uint8Array[] {
  const seen = new DeletedRanges()
  const fresh: DeleteRange[] = []
  base.pieces.forEach((piece, i) => {
    for (const range of readDeleteSet(piece, base.infos[i]!.deleteSetStart)) {
      for (const [from, to] of known.undeleted(range.client, range.clock, range.length)) {
        for (const [start, end] of seen.undeleted(range.client, from, to - from)) fresh.push({ client: range.client, clock: start, length: end - start })
      }
      seen.add([range])
    }
  })
  return fresh.length > 0 ? [deletionUpdate(fresh)] : []
}
