/**
 * The one owner of a hot room's document state: its base (the stored snapshot's pieces and the
 * log id they cover), the updates kept since, the log position read up to, and this node's
 * batches on their way to the log. Nothing else changes them; everything that does is one of
 * these commands:
 *
 *   sent(writes)        this node sends a batch to the log: the tag to append it under
 *   appended(tag, id)   the log answered that append: the batch is entry `id`
 *   appendFailed(tag)   that append failed: the batch was not kept, or (its entry was read) it
 *                       is written again: the log may have lost the entry (a failover)
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
import { KnownContent } from '../sync/known-content.ts'
import { coverage, deletionUpdate, structRanges, updateInfo, type UpdateInfo } from '../sync/update-info.ts'
import { splitByClients } from '../sync/split-update.ts'
import { DocBytes, type Accepted, type StoredBase } from './doc-bytes.ts'
import type { PendingWrite } from './room-writer.ts'
import { SERVER } from './origins.ts'

/** The document as everything but the core may see it: read, never changed. */
export type DocReader = Omit<DocBytes, 'add' | 'rebase' | 'markRecorded' | 'planned' | 'reassign' | 'park' | 'unpark' | 'markLost' | 'lose' | 'relogged' | 'place'>

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
  /**
   * Own batches that entered when their entry was read, before their append answered: if it then
   * fails, the log may lose the entry (a master that dies before a replica has it takes it along).
   */
  private readonly readBeforeAnswer = new Map<string, { id: LogId; writes: PendingWrite[] }>()
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
    this.readBeforeAnswer.delete(tag)
    const writes = this.inFlight.get(tag)
    if (writes) this.enterOwn(tag, writes, id)
  }

  /**
   * An append failed. True when its batch had not entered (the caller drops it: nothing of it
   * was kept); false when its entry was read all the same: the log took it, but may lose it yet
   * (a Redis master failing over before a replica had it), so what it carries is written again.
   */
  appendFailed(tag: string): boolean {
    this.sentBeforeReset.delete(tag)
    const early = this.readBeforeAnswer.get(tag)
    this.readBeforeAnswer.delete(tag)
    if (early) this.mayBeDropped(early.id, early.writes)
    return this.inFlight.delete(tag)
  }

  /** Entries read from the log, in log order (entries at or before the position are skipped). */
  read(entries: readonly LogEntry[]): void {
    const foldable = this.foldable
    let entered = false
    for (const entry of entries) {
      if (!this.advance(entry.id)) continue
      const own = this.inFlight.get(entry.tag)
      if (own) {
        this.readBeforeAnswer.set(entry.tag, { id: entry.id, writes: own })
        this.enterOwn(entry.tag, own, entry.id)
      } else entered = this.keepEntry(entry, true) || entered
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
    this.state.planned(updates)
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
      this.claimFromLater(id, write.update, write.info, false)
      const parts = this.keep({ id, writer: write.writer, update: write.update, info: write.info })
      if (write.relogOf && lost) again.push(write) // written again before the loss: its entry may have gone with it
      else if (write.relogOf) this.state.relogged(write.relogOf, id)
      else if (lost) for (const part of parts) again.push({ ...write, update: part.update, info: part.info, relogOf: this.state.lose(part) })
      kept ||= parts.length > 0
      this.ports.logged(write, id)
    }
    if (compareLogIds(id, this.pos) > 0) this.ownAhead.add(id)
    for (const write of writes) write.settle?.()
    if (kept) this.ports.changed()
    if (again.length > 0) this.ports.lost(again)
  }

  /**
   * Entry `id`, which this node read, may be gone from the log: what is held at its place is
   * nowhere in the log until written again, and what of it a fold took already is written again
   * too (nodes that never read the entry read it then; a node that holds it finds nothing new).
   */
  private mayBeDropped(id: LogId, writes: PendingWrite[]): void {
    const again = this.state.placedAt(id).map((held) => relogging(this.state.lose(held)))
    if (compareLogIds(id, this.state.baseWatermark) <= 0) again.push(...writes.map(({ update, info, writer }): PendingWrite => ({ update, info, writer, origin: SERVER })))
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
      this.claimFromLater(entry.id, update, info, true)
      kept = this.keep({ id: entry.id, writer, update, info }, live).length > 0 || kept
    }
    if (live && trusted.length > 0) this.ports.trust(trusted)
    return kept
  }

  /**
   * Entry `id` carries `update`; updates held at a later place may hold some of the same content:
   * own entries after it that entered first (their append answered before this entry was read),
   * own relogs that landed after it, and (`lost`: the entry was read, so it is surely in the log)
   * updates the log lost whose relog has not landed yet (another node wrote the same content
   * again first). That part moves to `id`: the content held stays the same (nothing to relay),
   * but a fold up to `id` now holds all `id` carries, as it would on a node that read the log in
   * order; a relog landing later brings nothing new.
   */
  private claimFromLater(id: LogId, update: Uint8Array, info: UpdateInfo, lost: boolean): void {
    if (!this.ownAheadOf(id) && !(lost && this.state.holdsLost)) return
    // The usual update is new as a whole: nothing of it is held (parked content is not known).
    if (this.state.parkedUpdates.length === 0 && effectivePart(update, info, this.state.knowledge)?.update === update) return
    this.claim({ id, update, info }, this.state.heldAfter(id, lost))
  }

  /** Whether an own entry after `id` entered before it. */
  private ownAheadOf(id: LogId): boolean {
    for (const ahead of this.ownAhead) if (compareLogIds(ahead, id) > 0) return true
    return false
  }

  /** What the updates `later` share with `carrier` moves to the carrier's id. */
  private claim(carrier: Pick<Accepted, 'id' | 'update' | 'info'>, later: Accepted[]): void {
    const { id, update, info } = carrier
    if (later.length === 0) return
    const carried = knowledgeOf(update, info)
    for (const held of later) {
      const rest = effectivePart(held.update, held.info, carried)
      if (rest?.update === held.update) continue // nothing in common
      // All of it: it stays the same object (a relog on its way names it) and is placed at `id`.
      if (!rest) {
        this.state.place(held, id)
        continue
      }
      const shared = effectivePart(held.update, held.info, knowledgeOf(rest.update, rest.info))
      if (!shared) continue
      // Who wrote it stays who this room took it from: the carrier's writer may have passed on
      // others' content (a resend after a loss carries whatever its client held).
      this.state.reassign(held, rest, { id, writer: held.writer, update: shared.update, info: shared.info, ...(held.recorded && { recorded: true }) })
    }
  }

  /**
   * Keeps what the document lacks of an update, and relays it: the parts kept (none when it lacked
   * nothing). Structs that build on clocks the document lacks are parked until they arrive (only
   * a log read out of order, as after a reset, has such updates): kept now, they would leave the
   * document with a hole, and what of a later update is new could no longer be told by the state
   * vector. Their deletions are kept at once (as Yjs applies a pending update's delete set).
   */
  private keep(accepted: Accepted, relay = true): Accepted[] {
    const stalled = stalledClients(accepted, this.state.knowledge)
    if (stalled) return this.keepAround(accepted, stalled, relay)
    const effective = effectivePart(accepted.update, accepted.info, this.state.knowledge)
    if (!effective) return []
    const kept = { ...accepted, update: effective.update, info: effective.info }
    this.state.add(kept)
    if (relay) this.ports.relay(effective.update)
    if (this.state.parkedUpdates.length > 0) this.unparkReady(relay)
    return [kept]
  }

  /** Parks the structs of `stalled` clients; keeps the other clients' structs and the deletions. */
  private keepAround(accepted: Accepted, stalled: ReadonlySet<number>, relay: boolean): Accepted[] {
    const { groups, deletions } = splitByClients(accepted.update, (client) => stalled.has(client))
    const part = (update: Uint8Array): Accepted => ({ ...accepted, update, info: updateInfo(update) })
    const kept = [groups.get(false), deletions].flatMap((now) => (now ? this.keep(part(now), relay) : []))
    const fresh = this.newToParked(part(groups.get(true)!))
    if (fresh) this.state.park(fresh)
    return fresh ? [...kept, fresh] : kept
  }

  /** What of an update neither the document nor a parked update holds (a re-sent one is parked once). */
  private newToParked(accepted: Accepted): Accepted | null {
    let fresh = effectivePart(accepted.update, accepted.info, this.state.knowledge)
    for (const parked of this.state.parkedUpdates) {
      if (!fresh) return null
      fresh = effectivePart(fresh.update, fresh.info, knowledgeOf(parked.update, parked.info))
    }
    return fresh && { ...accepted, update: fresh.update, info: fresh.info }
  }

  /**
   * Parked updates whose missing clocks arrived, or that hold what the document holds now, are
   * taken again: what continues is kept, what the document has is dropped, the rest parked again.
   */
  private unparkReady(relay: boolean): void {
    for (let ready = this.nextReady(); ready; ready = this.nextReady()) {
      this.state.unpark(ready)
      // What of it a later entry brought meanwhile is held under this earlier one.
      this.claim(ready, this.state.heldUnder((held) => compareLogIds(held, ready.id) > 0))
      this.keep(ready, relay)
    }
  }

  /**
   * A parked update some of whose clients can go on now, or part of which the document holds now.
   * An update with holes may be rewritten as it was (its span is not what it holds): only a
   * different one counts, or taking it would park it again, unchanged, for ever.
   */
  private nextReady(): Accepted | undefined {
    const known = this.state.knowledge
    return this.state.parkedUpdates.find((parked) => {
      if ((stalledClients(parked, known)?.size ?? 0) < parked.info.clients.size) return true
      const effective = effectivePart(parked.update, parked.info, known)
      return !effective || (effective.update !== parked.update && !sameBytes(effective.update, parked.update))
    })
  }

  private replaceBase(base: StoredBase, diffs: Uint8Array[]): void {
    const adds = [...diffs.flatMap((diff) => newStructsOf(diff, this.state.knowledge)), ...newDeletions(base, this.state.knowledge)]
    const orphans = this.state.rebase(base)
    if (orphans.length > 0) this.ports.lost(orphans.map(relogging))
    if (compareLogIds(base.watermark, this.pos) > 0) this.pos = base.watermark
    this.forgetOwnBefore(this.pos)
    for (const add of adds) this.ports.relay(add)
    this.ports.trust(adds.map((update) => ({ writer: '', update, at: LOG_START })), base.bindings)
    if (this.state.parkedUpdates.length > 0) this.unparkReady(true) // the base may hold what they waited for
    this.ports.changed()
  }

  /** Own entries the position passed are held like any other. */
  private forgetOwnBefore(position: LogId): void {
    for (const id of this.ownAhead) if (compareLogIds(id, position) <= 0) this.ownAhead.delete(id)
  }
}

/** What one update holds, as knowledge (its structs may start past clock 0: held past a gap). */
function knowledgeOf(update: Uint8Array, info: UpdateInfo): Knowledge {
  const known = new KnownContent()
  known.addPiece(update, info)
  return known.knowledge
}

/**
 * The clients whose structs in the update do not continue what the document holds of them (null
 * when none): they start past it, or have a hole of their own (a client passing on what it holds
 * pending sends updates with skips).
 */
function stalledClients(accepted: Pick<Accepted, 'update' | 'info'>, known: Knowledge): Set<number> | null {
  let stalled: Set<number> | null = null // the usual update continues: nothing allocated for it
  if (!accepted.info.holes) {
    for (const [client, [first]] of accepted.info.clients) if (first > known.knownUpTo(client)) (stalled ??= new Set()).add(client)
    return stalled
  }
  const reach = new Map<number, number>()
  for (const [client, first, end] of structRanges(accepted.update, accepted.info)) {
    const held = reach.get(client) ?? known.knownUpTo(client)
    if (first > held) (stalled ??= new Set()).add(client)
    reach.set(client, Math.max(held, end))
  }
  return stalled
}

/** A held update the log lost, written again: where it lands is its place from then on. */
function relogging(accepted: Accepted): PendingWrite {
  return { update: accepted.update, info: accepted.info, writer: accepted.writer, origin: SERVER, relogOf: accepted }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
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
