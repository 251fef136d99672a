/**
 * A hot room's document, as bytes: the stored snapshot as pieces (each already framed for
 * sending), and every update accepted since, with its log id and writer. No Y.Doc: a fresh client
 * is sent the pieces and the updates; a returning one the parts its state vector lacks
 * (sync-answer.ts); compaction folds these same bytes in a worker.
 *
 * Memory stays near the encoded size: pieces are kept only as their frames (the update is a view
 * into the frame), and updates since the base are merged into blocks for sending only on demand.
 */
import { compareLogIds, LOG_START, type LogId } from '../../log/log-id.ts'
import { updateFrame } from '../wire/outbound.ts'
import { encodeSnapshot } from '../compaction/snapshot-codec.ts'
import type { BlockInput } from '../sync/update-blocks.ts'
import { coverage, deletesOnly, hasDeletes, updateInfo, type UpdateInfo } from '../sync/update-info.ts'
import { splitByClients } from '../sync/split-update.ts'
import type { Knowledge } from '../sync/effective-update.ts'
import { KnownContent } from '../sync/known-content.ts'
import { framed } from './piece-frames.ts'

export interface Piece {
  frame: Uint8Array
  update: Uint8Array
  info: UpdateInfo
}

export interface Accepted {
  id: LogId
  writer: string
  update: Uint8Array
  info: UpdateInfo
  /** History has its edit record (a compaction folded it). */
  recorded?: boolean
  /**
   * The log lost its entry (a Redis restarted empty): null until it is logged again, then that
   * entry's id, which is its place in the log from then on.
   */
  relogged?: LogId | null
  /**
   * Shared by an update the log lost and every copy of it the room keeps later (cut to what a new
   * base lacks, split around parked clients): its relog, wherever it lands, places them all.
   */
  lineage?: object
}

/** Where a held update is in the log now; null: nowhere yet (lost, not logged again). */
function placeOf(accepted: Accepted): LogId | null {
  return accepted.relogged === undefined ? accepted.id : accepted.relogged
}

/** Whether a base covering `watermark` holds the update. */
function covered(accepted: Accepted, watermark: LogId): boolean {
  const place = placeOf(accepted)
  return place !== null && compareLogIds(place, watermark) <= 0
}

export interface StoredBase {
  pieces: Uint8Array[]
  infos: UpdateInfo[]
  /** Leading pieces from the last full fold (the rest are appended deltas). */
  full: number
  /** Every log entry with id ≤ watermark is in the pieces. */
  watermark: LogId
  /** The state the pieces hold. */
  stateVector: ReadonlyMap<number, number>
  /** Which user each client id in the pieces is bound to. */
  bindings: ReadonlyMap<number, string>
}

/** What a peer with some state vector needs, before any diffing. */
export interface SyncPlan {
  /** Ready frames: pieces it lacks whole, and deletions of pieces it has whole. */
  frames: Uint8Array[]
  /** Pieces it has part of: to diff against its state vector. */
  partial: Uint8Array[]
  /** The client ids those pieces write under (all of the state vector a diff reads). */
  partialClients: Set<number>
  /** Updates since the base it may lack (sent merged in blocks). */
  updates: BlockInput[]
}

/** What a peer with nothing needs (`DocBytes.freshParts`). */
export interface FreshParts {
  /** Ready frames: every piece, then the updates since already merged in blocks. */
  frames: Uint8Array[]
  /** The updates since after those, to merge in blocks. */
  unmerged: BlockInput[]
  /** Keeps the frame of a closed block merged from `unmerged[start, end)`, unless `since` changed under it. */
  keepBlock(frame: Uint8Array, start: number, end: number): void
}

export class DocBytes {
  private pieces: Piece[]
  private full: number
  private baseBindings: ReadonlyMap<number, string>
  private baseVector: ReadonlyMap<number, number>
  private watermarkId: LogId
  private since: Accepted[] = []
  /**
   * Logged updates that build on clocks the document lacks (the log had them out of order, as
   * after a reset): held, counted and folded, but not known or served until what they build on
   * arrives (as Yjs holds pending structs).
   */
  private parked: Accepted[] = []
  private parkedBytes = 0
  private readonly sinceWriters = new Map<number, string>()
  private known: KnownContent
  private pieceBytes: number
  private sinceBytes = 0
  /** Bumped on every change; caches hold their version. */
  private changes = 0
  /** Frames of `since` merged in blocks, as fresh answers made them. */
  private readonly blocks: Uint8Array[] = []
  /** `since` up to this index is merged into `blocks`. */
  private blockedUpTo = 0
  /** Bumped whenever `blocks` start over: a block merged from an earlier `since` is not kept. */
  private blockGeneration = 0
  private cached: { version: number; vector?: Uint8Array } = { version: -1 }
  /**
   * Held updates not yet seen covered by the position `checkedAt`: the only ones that can lie
   * beyond a later position (a covered update stays covered as the position moves on, until its
   * place in the log changes, which puts it back here). Keeps `countAfter` (asked on every entry
   * read) from walking every held update.
   */
  private unchecked = new Set<Accepted>()
  private checkedAt: LogId = LOG_START
  /** False once no held update was found lost (set again whenever one may be). */
  private mayHoldLost = false
  /**
   * Parts moved off a held update since a fold last planned it (`reassign`): a fold running
   * meanwhile records the update as planned, so those parts are recorded with it.
   */
  private readonly splitOff = new WeakMap<Accepted, Accepted[]>()

  constructor(base: StoredBase) {
    this.pieces = framePieces(base.pieces, base.infos)
    this.full = base.full
    this.baseBindings = base.bindings
    this.baseVector = base.stateVector
    this.watermarkId = base.watermark
    this.known = new KnownContent(base.stateVector)
    this.pieceBytes = sizeOf(this.pieces.map((p) => p.update))
    for (const piece of this.pieces) this.known.addPiece(piece.update, piece.info)
  }

  /** What the document holds: every clock below its state vector, and what it deleted. */
  get knowledge(): Knowledge {
    return this.known.knowledge
  }

  get version(): number {
    return this.changes
  }

  /** Encoded size held: the snapshot's pieces plus the updates since. */
  get bytes(): number {
    return this.pieceBytes + this.sinceBytes + this.parkedBytes
  }

  get updateCount(): number {
    return this.since.length + this.parked.length
  }

  /** Encoded size of the snapshot's pieces alone (the log counts a document's size from it). */
  get baseBytes(): number {
    return this.pieceBytes
  }

  /** The watermark of the base: every log entry ≤ it is in the pieces. */
  get baseWatermark(): LogId {
    return this.watermarkId
  }

  get fullPieces(): number {
    return this.full
  }

  get bindings(): ReadonlyMap<number, string> {
    return this.baseBindings
  }

  /** The current state vector (base and updates since). */
  get vectorMap(): ReadonlyMap<number, number> {
    return this.known.stateVector
  }

  /** The stored snapshot this room holds, as a base to fold from. */
  base(): StoredBase {
    return {
      pieces: this.pieces.map((p) => p.update),
      infos: this.pieces.map((p) => p.info),
      full: this.full,
      watermark: this.watermarkId,
      stateVector: this.baseVector,
      bindings: this.baseBindings,
    }
  }

  /** The user a client id is bound to: by the snapshot, or by the first update since under it. */
  writerOf(client: number): string | undefined {
    return this.baseBindings.get(client) ?? this.sinceWriters.get(client)
  }

  /** Keeps an update that is in the log (or on its way into a base), counted as held. */
  add(accepted: Accepted): void {
    if (accepted.writer !== '') for (const client of accepted.info.clients.keys()) if (!this.sinceWriters.has(client)) this.sinceWriters.set(client, accepted.writer)
    this.since.push(accepted)
    this.unchecked.add(accepted)
    this.sinceBytes += accepted.update.length
    this.known.add(accepted.update, accepted.info)
    this.changes++
  }

  /** Holds a logged update that builds on clocks the document lacks. */
  park(accepted: Accepted): void {
    this.parked.push(accepted)
    this.unchecked.add(accepted)
    this.parkedBytes += accepted.update.length
    this.changes++
  }

  /** Parked updates, oldest first. */
  get parkedUpdates(): readonly Accepted[] {
    return this.parked
  }

  /** Stops holding a parked update (it is kept now, or the document has all of it). */
  unpark(accepted: Accepted): void {
    const before = this.parked.length
    this.parked = this.parked.filter((a) => a !== accepted)
    if (this.parked.length < before) this.parkedBytes -= accepted.update.length
    if (!this.since.includes(accepted)) this.unchecked.delete(accepted)
    this.changes++
  }

  /**
   * What a fold covering `upTo` takes: updates held up to it, parked ones too, and those the log
   * lost (a snapshot must hold them while the log does not).
   */
  upTo(upTo: LogId): Accepted[] {
    return [...this.since, ...this.parked].filter((a) => placeOf(a) === null || covered(a, upTo))
  }

  /** Updates held since the base (parked ones too) under the log ids `under` picks. */
  heldUnder(under: (id: LogId) => boolean): Accepted[] {
    return [...this.since, ...this.parked].filter((accepted) => accepted.relogged === undefined && under(accepted.id))
  }

  /**
   * Updates held whose place in the log is after `id`, and (with `lost`) those the log lost and
   * that are not logged again yet.
   */
  heldAfter(id: LogId, lost: boolean): Accepted[] {
    return [...this.since, ...this.parked].filter((accepted) => {
      const place = placeOf(accepted)
      return place === null ? lost : compareLogIds(place, id) > 0
    })
  }

  /** Updates held whose place in the log is entry `id`. */
  placedAt(id: LogId): Accepted[] {
    return [...this.since, ...this.parked].filter((accepted) => placeOf(accepted) === id)
  }

  /** Whether some update held is lost by the log and not logged again yet (cheap when none is). */
  get holdsLost(): boolean {
    if (!this.mayHoldLost) return false
    this.mayHoldLost = this.since.some((a) => a.relogged === null) || this.parked.some((a) => a.relogged === null)
    return this.mayHoldLost
  }

  /** Updates held beyond `position` in the log (this node's own, entered before they were read). */
  countAfter(position: LogId): number {
    if (compareLogIds(position, this.checkedAt) < 0) this.uncheckAll()
    for (const accepted of this.unchecked) if (covered(accepted, position)) this.unchecked.delete(accepted)
    this.checkedAt = position
    return this.unchecked.size
  }

  private uncheckAll(): void {
    this.unchecked = new Set([...this.since, ...this.parked])
    this.checkedAt = LOG_START
  }

  /** The log lost what it held: every update held since the base is nowhere in it until logged again. */
  markLost(): void {
    for (const accepted of [...this.since, ...this.parked]) {
      accepted.relogged = null
      accepted.lineage = {}
    }
    this.mayHoldLost = true
    this.uncheckAll()
  }

  /** Marks one held update as lost by the log (it is written again); returns it. */
  lose(accepted: Accepted): Accepted {
    accepted.relogged = null
    accepted.lineage = {}
    this.mayHoldLost = true
    if (this.since.includes(accepted) || this.parked.includes(accepted)) this.unchecked.add(accepted) // nowhere in the log now
    return accepted
  }

  /** A lost update was logged again as entry `id`. */
  relogged(accepted: Accepted, id: LogId): void {
    if (accepted.relogged === null) accepted.relogged = id
    // The room may keep a copy of it by now (a rebase or a split copies what it keeps).
    const { lineage } = accepted
    if (lineage) for (const held of [...this.since, ...this.parked]) if (held.lineage === lineage && held.relogged === null) held.relogged = id
  }

  /**
   * Part of a held update moves to an earlier log entry that carries it too: `held` keeps only
   * `rest` and `moved` is held under the earlier id. The content held is the same; only which
   * entry holds it changes (so a fold up to that entry holds it, as it holds everything that entry
   * carries). `held` stays the same object, with its place and lineage: a relog of it on its way
   * to the log names it, and still places what is left of it.
   */
  reassign(held: Accepted, rest: Pick<Accepted, 'update' | 'info'>, moved: Accepted): void {
    const list = this.since.includes(held) ? this.since : this.parked.includes(held) ? this.parked : null
    if (!list) return
    const change = rest.update.length + moved.update.length - held.update.length
    held.update = rest.update
    held.info = rest.info
    list.push(moved)
    this.splitOff.set(held, [...(this.splitOff.get(held) ?? []), moved])
    this.unchecked.add(held)
    this.unchecked.add(moved)
    if (list === this.since) this.sinceBytes += change
    else this.parkedBytes += change
    this.dropBlocks() // the merged blocks index into `since`
    this.changes++
  }

  /**
   * All of a held update is in the log at `id` too (an earlier entry carries it, or another
   * node's relog of it): that is its place from now on. The object stays: a relog of it on its
   * way to the log names it, and finds it placed.
   */
  place(accepted: Accepted, id: LogId): void {
    if (accepted.relogged === undefined) accepted.id = id
    else accepted.relogged = id
    if (this.since.includes(accepted) || this.parked.includes(accepted)) this.unchecked.add(accepted)
    this.changes++
  }

  /** A fold takes these updates as they are now: what is moved off them from now on is recorded with them. */
  planned(updates: readonly Accepted[]): void {
    for (const accepted of updates) this.splitOff.delete(accepted)
  }

  /**
   * Marks updates as recorded in history (their edit records are stored, from the content they
   * held when a fold planned them): the parts moved off them since are recorded too.
   */
  markRecorded(updates: readonly Accepted[]): void {
    const marking = [...updates]
    for (let accepted = marking.pop(); accepted; accepted = marking.pop()) {
      accepted.recorded = true
      marking.push(...(this.splitOff.get(accepted) ?? []))
      this.splitOff.delete(accepted)
    }
  }

  /** The encoded state vector (what the server's sync step 1 sends). */
  stateVector(): Uint8Array {
    return (this.cache().vector ??= this.known.encodedVector())
  }

  /**
   * Everything, for a client that has nothing: the pieces' frames and the blocks already merged,
   * then the updates since not merged yet (as they are now: the answer merges them a block per
   * turn, and `keepBlock` keeps each closed block it made for the next fresh client).
   */
  freshParts(): FreshParts {
    const from = this.blockedUpTo
    const generation = this.blockGeneration
    return {
      frames: [...this.pieces.map((p) => p.frame), ...this.blocks],
      unmerged: this.since.slice(from).map(({ update, info }) => ({ update, info })),
      keepBlock: (frame, start, end) => {
        if (generation !== this.blockGeneration || this.blockedUpTo !== from + start) return
        this.blocks.push(frame)
        this.blockedUpTo = from + end
      },
    }
  }

  /** Sorts what a peer with `stateVector` lacks into ready frames, pieces to diff and updates. */
  plan(stateVector: Map<number, number>): SyncPlan {
    const plan: SyncPlan = { frames: [], partial: [], partialClients: new Set(), updates: [] }
    for (const piece of this.pieces) {
      const covered = coverage(piece.info, stateVector)
      if (covered === 'none') plan.frames.push(piece.frame)
      else if (covered === 'some') {
        plan.partial.push(piece.update)
        for (const client of piece.info.clients.keys()) plan.partialClients.add(client)
      } else if (hasDeletes(piece.update, piece.info)) plan.frames.push(updateFrame(deletesOnly(piece.update, piece.info)))
    }
    for (const accepted of this.since) {
      // Copies: a reassign may cut a held update in place while the answer merges it over turns.
      if (coverage(accepted.info, stateVector) !== 'all' || hasDeletes(accepted.update, accepted.info)) plan.updates.push({ update: accepted.update, info: accepted.info })
    }
    return plan
  }

  /** Everything held, as a snapshot would store it (for a version of the live document). */
  fullState(): Uint8Array {
    const base = this.base()
    const held = [...this.since, ...this.parked]
    return encodeSnapshot([...base.pieces, ...held.map((a) => a.update)], base.full, {
      infos: [...base.infos, ...held.map((a) => a.info)],
      stateVector: this.known.encodedVector(),
      bindings: base.bindings,
    })
  }

  /** The base's pieces and the updates held since, in order, parked ones last (to fold, index or materialize). */
  contents(): { pieces: Uint8Array[]; since: readonly Accepted[] } {
    return { pieces: this.pieces.map((p) => p.update), since: this.parked.length === 0 ? this.since : [...this.since, ...this.parked] }
  }

  /**
   * A snapshot covering every log entry up to `base.watermark` becomes the base: the updates held
   * up to it go (the base holds them), later ones stay, cut to what the base lacks. The base may
   * hold what this document did not (entries it never read): only the room core calls this, once
   * it has sent its sockets what the base adds.
   *
   * Normally the base holds all the old base held. After the log lost entries (a Redis restarted
   * empty), another node's snapshot may not: what of the old base it lacks stays, as updates the
   * log lost (returned: the caller writes them to the log again). So does what it lacks of updates
   * held up to its watermark: their entry left the log before its maker read that far (a Redis
   * failover dropped it after this node read it).
   */
  rebase(base: StoredBase): Accepted[] {
    const known = new KnownContent(base.stateVector)
    base.pieces.forEach((piece, i) => known.addPiece(piece, base.infos[i]!))
    const orphans = this.pieces.flatMap((piece) => {
      const lacked = known.take(piece.update, piece.info)
      return lacked ? this.attributed(lacked.update).map((orphan) => ({ id: base.watermark, ...orphan, relogged: null })) : []
    })
    const dropped: Accepted[] = []
    const since = [...orphans, ...this.since.flatMap((a) => {
      const lacked = known.take(a.update, a.info)
      if (!lacked) return []
      if (!covered(a, base.watermark)) return [{ ...a, ...lacked }]
      const lost = { ...a, ...lacked, relogged: null }
      dropped.push(lost)
      return [lost]
    })]
    this.known = known
    this.pieces = framePieces(base.pieces, base.infos)
    this.full = base.full
    this.baseBindings = base.bindings
    this.baseVector = base.stateVector
    this.pieceBytes = sizeOf(this.pieces.map((p) => p.update))
    this.watermarkId = base.watermark
    this.since = since
    this.mayHoldLost ||= orphans.length + dropped.length > 0
    this.sinceBytes = sizeOf(since.map((a) => a.update))
    this.parked = this.parked.filter((a) => !covered(a, base.watermark))
    this.parkedBytes = sizeOf(this.parked.map((a) => a.update))
    this.uncheckAll()
    this.dropBlocks()
    this.changes++
    return [...orphans, ...dropped]
  }

  /** An update of the base's, as updates per writer of its client ids (deletions by nobody known). */
  private attributed(update: Uint8Array): Array<Pick<Accepted, 'writer' | 'update' | 'info'>> {
    const { groups, deletions } = splitByClients(update, (client) => this.writerOf(client) ?? '')
    const parts = [...groups].map(([writer, part]) => ({ writer, update: part }))
    if (deletions) parts.push({ writer: '', update: deletions })
    return parts.map((part) => ({ ...part, info: updateInfo(part.update) }))
  }

  private dropBlocks(): void {
    this.blocks.length = 0
    this.blockedUpTo = 0
    this.blockGeneration++
  }

  private cache(): typeof this.cached {
    if (this.cached.version !== this.changes) this.cached = { version: this.changes }
    return this.cached
  }
}

/** Each piece in its frame (copied once, unless a load framed it); the stored snapshot's buffer can then be freed. */
function framePieces(pieces: Uint8Array[], infos: UpdateInfo[]): Piece[] {
  return pieces.map((piece, i) => ({ ...framed(piece), info: infos[i]! }))
}

function sizeOf(parts: Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0)
}
