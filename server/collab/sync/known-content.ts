/**
 * What a document holds, kept beside its bytes to decide what of an update is new: its state
 * vector (every clock below it is held), the ranges it has deleted, and the structs it holds
 * past a gap (a snapshot keeps what Yjs holds pending; they count as held once the gap closes).
 */
import * as Y from 'yjs'
import { RangeMap } from '../content/range-map.ts'
import { validateUpdateV1 } from '../wire/update-validator.ts'
import { DeletedRanges, readDeleteSet } from './delete-set.ts'
import { effectivePart, type Effective, type Knowledge } from './effective-update.ts'
import { extendVector, type UpdateInfo } from './update-info.ts'

export class KnownContent {
  private readonly vector: Map<number, number>
  private readonly deleted = new DeletedRanges()
  /** Per client, struct ranges held beyond the state vector (past a gap). */
  private readonly pending = new Map<number, RangeMap>()

  constructor(vector: ReadonlyMap<number, number> = new Map()) {
    this.vector = new Map(vector)
  }

  readonly knowledge: Knowledge = {
    knownUpTo: (client) => this.vector.get(client) ?? 0,
    undeleted: (client, clock, length) => this.deleted.undeleted(client, clock, length),
    heldPast: (client, from, to) => this.pending.get(client)?.covered(from, to).map(([start, end]) => [start, end] as [number, number]) ?? [],
  }

  get stateVector(): ReadonlyMap<number, number> {
    return this.vector
  }

  /** The state vector, encoded. */
  encodedVector(): Uint8Array {
    return Y.encodeStateVector(this.vector)
  }

  /**
   * Takes in an update held as a whole. One that continues what is held extends the state
   * vector; one past a gap (or with a hole of its own) is noted as held past it, like a piece.
   */
  add(update: Uint8Array, info: UpdateInfo): void {
    if (info.holes || !this.continues(info)) return this.addPiece(update, info)
    extendVector(this.vector, info)
    this.addDeletions(update, info)
    if (this.pending.size > 0) for (const client of info.clients.keys()) this.closeGap(client)
  }

  /**
   * Takes in a stored piece. Its structs up to the base's state vector are in that vector; those
   * past it (held pending, beyond a gap) are noted, to count once the gap closes.
   */
  addPiece(update: Uint8Array, info: UpdateInfo): void {
    this.addDeletions(update, info)
    for (const [client, [, end]] of info.clients) {
      if (end > (this.vector.get(client) ?? 0)) return this.notePending(update)
    }
  }

  /** Takes in a piece's deletions alone. */
  addDeletions(update: Uint8Array, info: UpdateInfo): void {
    this.deleted.add(readDeleteSet(update, info.deleteSetStart))
  }

  /**
   * What of `update` is new, taken in; null when nothing is. The updates taken need not come in
   * the order they were written: one past what is held waits as held past a gap.
   */
  take(update: Uint8Array, info: UpdateInfo): Effective | null {
    const effective = effectivePart(update, info, this.knowledge)
    if (effective) this.add(effective.update, effective.info)
    return effective
  }

  /** Every client's structs in the update start at or before what is held of that client. */
  private continues(info: UpdateInfo): boolean {
    for (const [client, [first]] of info.clients) if (first > (this.vector.get(client) ?? 0)) return false
    return true
  }

  private notePending(update: Uint8Array): void {
    validateUpdateV1(update, {
      struct: (client, clock, length, _start, _end, skip) => {
        if (skip || clock + length <= (this.vector.get(client) ?? 0)) return
        let ranges = this.pending.get(client)
        if (!ranges) this.pending.set(client, ranges = new RangeMap())
        ranges.add(clock, clock + length, 0)
      },
    })
    for (const client of this.pending.keys()) this.closeGap(client)
  }

  /** Pending ranges the vector reached now count as held. */
  private closeGap(client: number): void {
    const ranges = this.pending.get(client)
    if (!ranges) return
    let known = this.vector.get(client) ?? 0
    for (const [start, end] of ranges.covered(0, Number.MAX_SAFE_INTEGER)) {
      if (start > known) break
      known = Math.max(known, end)
    }
    if (known > (this.vector.get(client) ?? 0)) this.vector.set(client, known)
    if (known >= ranges.end) this.pending.delete(client)
  }
}
