/**
 * The main thread's side of the fold worker (fold-worker.ts): one lazily started worker per
 * process, restarted if it dies. Inputs go packed (packing.ts: they may be views into a room's
 * loaded buffer); results come back transferred.
 */
import type { LoggedUpdate } from '../../log/record-codec.ts'
import type { FoldMode, FoldRequest, FoldResult } from '../workers/fold-worker.ts'
import { WorkerChannel, type WorkerLike } from '../workers/worker-channel.ts'
import { inGroups, packArrays, packUpdates } from '../workers/packing.ts'

/** Snapshot pieces are at most this big, so a load applies or sends them in short slices. */
export const PIECE_BYTES = 256 * 1024

// Running from TypeScript sources (node, vitest) or from compiled dist/: same folder, own extension.
const WORKER_URL = new URL(`../workers/fold-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)

export interface FoldBase {
  pieces: Uint8Array[]
  stateVector: Uint8Array
  bindings: ReadonlyMap<number, string>
}

export type { FoldResult }

/**
 * A full fold's base goes to the worker in messages of about this size, one per turn: each is
 * copied on the event loop's thread, and 10 MiB copied at once stalled it ~60 ms on a VM whose
 * page faults are slow (figure 6's re-fold).
 */
const BASE_MESSAGE_BYTES = 1024 * 1024

/** The fold worker's thread goes after this long without a fold (an idle node gives its memory back). */
const RETIRE_AFTER_MS = 10_000

/**
 * Folds open in the worker at once; the rest wait their turn. Each open fold holds a document
 * there (and its batches on the way): a wave of evictions would otherwise open one per room,
 * and the allocator keeps that peak long after. Two, so reading a cold room's log overlaps a fold.
 */
export const OPEN_FOLDS = 2

export class Folder {
  private readonly channel: WorkerLike<FoldRequest>
  private nextId = 1
  /** Folds begun and not yet finished or aborted: their sessions live in the worker. */
  private open = 0
  /** Folds waiting for one of those to end (each is handed its place). */
  private readonly waiting: Array<() => void> = []

  /** `channel`: the fold worker thread (one, started lazily, let go when idle), unless given another. */
  constructor(channel?: WorkerLike<FoldRequest>) {
    this.channel = channel ?? new WorkerChannel<FoldRequest>(WORKER_URL, { retireAfterMs: RETIRE_AFTER_MS, canRetire: () => this.open === 0 })
  }

  /**
   * Full: folds the base's pieces and every batch into new snapshot pieces.
   * Delta: merges the batches alone into pieces to append to the base's.
   */
  async fold(mode: FoldMode, base: FoldBase, batches: AsyncIterable<LoggedUpdate[]> | Iterable<LoggedUpdate[]>): Promise<FoldResult> {
    await this.takeTurn()
    const id = this.nextId++
    try {
      await this.channel.call({ id, type: 'begin', mode, stateVector: base.stateVector, bindings: [...base.bindings] })
      if (mode === 'full') {
        for (const group of inGroups(base.pieces, BASE_MESSAGE_BYTES)) {
          const pieces = packArrays(group)
          await this.channel.call({ id, type: 'pieces', pieces: pieces.value }, pieces.transfer)
        }
      }
      for await (const batch of batches) {
        const updates = packUpdates(batch)
        await this.channel.call({ id, type: 'add', updates: updates.value }, updates.transfer)
      }
      return await this.channel.call<FoldResult>({ id, type: 'finish', pieceBytes: PIECE_BYTES })
    } catch (error) {
      void this.channel.call({ id, type: 'abort' }).catch(() => undefined)
      throw error
    } finally {
      this.endTurn()
    }
  }

  private async takeTurn(): Promise<void> {
    if (this.open < OPEN_FOLDS) this.open++
    else await new Promise<void>((resolve) => this.waiting.push(resolve)) // the place comes counted
  }

  private endTurn(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.open--
  }

  /** The worker thread's JS heap in use (metrics: memory by thread). */
  heapUsed(): Promise<number | null> {
    return this.channel.heapUsed?.() ?? Promise.resolve(null)
  }

  close(): Promise<void> {
    return this.channel.close()
  }
}
