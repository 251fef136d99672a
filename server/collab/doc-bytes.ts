/**
 * A hot room's document, as bytes: the stored snapshot as pieces (each already framed for
 * sending), and every update accepted since, with its log id and writer. No Y.Doc: a fresh client
 * is sent the pieces and the updates; a returning one the parts its state vector lacks
 * (sync-answer.ts); compaction folds these same bytes in a worker.
 *
 * Memory stays near the encoded size: pieces are kept only as their frames (the update is a view
 * into the frame), and updates since the base are merged into blocks for sending only on demand.
 */
import * as Y from 'yjs'
import { compareLogIds, type LogId } from '../log/log-id.ts'
import { updateFrame } from './outbound.ts'
import { encodeSnapshot } from './snapshot-codec.ts'
import { blockEnds, mergeBlock, type BlockInput } from './update-blocks.ts'
import { coverage, deletesOnly, extendVector, hasDeletes, type UpdateInfo } from './update-info.ts'

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

export class DocBytes {
  private pieces: Piece[]
  private full: number
  private baseBindings: ReadonlyMap<number, string>
  private baseVector: ReadonlyMap<number, number>
  private watermarkId: LogId
  private since: Accepted[] = []
  private readonly sinceWriters = new Map<number, string>()
  private readonly vector: Map<number, number>
  private pieceBytes: number
  private sinceBytes = 0
  /** Bumped on every change; caches hold their version. */
  private changes = 0
  private readonly blocks: Uint8Array[] = []
  /** `since` up to this index is merged into `blocks`. */
  private blockedUpTo = 0
  private cached: { version: number; fresh?: Uint8Array[]; vector?: Uint8Array } = { version: -1 }

  constructor(base: StoredBase) {
    this.pieces = framePieces(base.pieces, base.infos)
    this.full = base.full
    this.baseBindings = base.bindings
    this.baseVector = base.stateVector
    this.watermarkId = base.watermark
    this.vector = new Map(base.stateVector)
    this.pieceBytes = sizeOf(this.pieces.map((p) => p.update))
  }

  get version(): number {
    return this.changes
  }

  /** Encoded size held: the snapshot's pieces plus the updates since. */
  get bytes(): number {
    return this.pieceBytes + this.sinceBytes
  }

  get updateCount(): number {
    return this.since.length
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
    return this.vector
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

  add(accepted: Accepted): void {
    if (accepted.writer !== '') for (const client of accepted.info.clients.keys()) if (!this.sinceWriters.has(client)) this.sinceWriters.set(client, accepted.writer)
    this.since.push(accepted)
    this.sinceBytes += accepted.update.length
    extendVector(this.vector, accepted.info)
    this.changes++
  }

  /** The encoded state vector (what the server's sync step 1 sends). */
  stateVector(): Uint8Array {
    return (this.cache().vector ??= Y.encodeStateVector(this.vector))
  }

  /** Everything, for a client that has nothing: the pieces' frames, then the updates since. */
  freshFrames(): Uint8Array[] {
    const cache = this.cache()
    cache.fresh ??= [...this.pieces.map((p) => p.frame), ...this.sinceFrames()]
    return cache.fresh
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
      if (coverage(accepted.info, stateVector) !== 'all' || hasDeletes(accepted.update, accepted.info)) plan.updates.push(accepted)
    }
    return plan
  }

  /** Everything held, as a snapshot would store it (for a version of the live document). */
  fullState(): Uint8Array {
    const base = this.base()
    return encodeSnapshot([...base.pieces, ...this.since.map((a) => a.update)], base.full, {
      infos: [...base.infos, ...this.since.map((a) => a.info)],
      stateVector: Y.encodeStateVector(this.vector),
      bindings: base.bindings,
    })
  }

  /** The base's pieces and the updates since, in order (to fold, index or materialize). */
  contents(): { pieces: Uint8Array[]; since: readonly Accepted[] } {
    return { pieces: this.pieces.map((p) => p.update), since: this.since }
  }

  /**
   * A compaction stored a snapshot up to `watermark`: it becomes the base. (It may hold entries
   * this room has not read yet, when another node compacted it: the state vector grows to match.)
   */
  rebase(base: StoredBase): void {
    for (const [client, clock] of base.stateVector) if (clock > (this.vector.get(client) ?? 0)) this.vector.set(client, clock)
    this.pieces = framePieces(base.pieces, base.infos)
    this.full = base.full
    this.baseBindings = base.bindings
    this.baseVector = base.stateVector
    this.pieceBytes = sizeOf(this.pieces.map((p) => p.update))
    this.watermarkId = base.watermark
    this.since = this.since.filter((a) => compareLogIds(a.id, base.watermark) > 0)
    this.sinceBytes = sizeOf(this.since.map((a) => a.update))
    this.blocks.length = 0
    this.blockedUpTo = 0
    this.changes++
  }

  /** The updates since, merged in blocks: closed blocks are kept, the open one is merged per call. */
  private sinceFrames(): Uint8Array[] {
    for (const end of blockEnds(this.since, this.blockedUpTo, false)) {
      this.blocks.push(updateFrame(mergeBlock(this.since, this.blockedUpTo, end)))
      this.blockedUpTo = end
    }
    if (this.blockedUpTo === this.since.length) return [...this.blocks]
    return [...this.blocks, updateFrame(mergeBlock(this.since, this.blockedUpTo, this.since.length))]
  }

  private cache(): typeof this.cached {
    if (this.cached.version !== this.changes) this.cached = { version: this.changes }
    return this.cached
  }
}

/** Each piece copied once into its frame; the stored snapshot's buffer can then be freed. */
function framePieces(pieces: Uint8Array[], infos: UpdateInfo[]): Piece[] {
  return pieces.map((piece, i) => {
    const frame = updateFrame(piece)
    return { frame, update: frame.subarray(frame.length - piece.length), info: infos[i]! }
  })
}

function sizeOf(parts: Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0)
}
