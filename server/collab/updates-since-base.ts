/**
 * The updates a room applied after its base snapshot. A fresh client is sent the base's pieces
 * and then these, merged: asking Yjs for the document's diff to the base instead walks every
 * struct of the document (to build its delete set), ~90 ms on the main thread for a 10 MiB
 * canvas, on every first sync after a change.
 *
 * Bounded: past the bound the list is dropped and marked incomplete, and the room falls back to
 * Yjs's diff until a compaction starts a new list. Holding more than needed is harmless (Yjs
 * applies an update it already has as a no-op), so when in doubt, updates are kept.
 */
import * as Y from 'yjs'

/** Beyond these, fresh clients get Yjs's diff (a compaction is due long before). */
export const SINCE_BASE_LIMITS = { maxBytes: 8 * 1024 * 1024, maxUpdates: 5_000 }

/** Taken when a compaction captures the room's watermark; hands the list over at rebase. */
export interface SinceBaseMark {
  /** Every update applied before the mark is covered by the watermark being compacted to. */
  covered: boolean
  position: number
  generation: number
}

export class UpdatesSinceBase {
  private updates: Uint8Array[]
  private bytes: number
  /** False when some update since the base is not in `updates`. */
  private complete: boolean
  /** Bumped whenever the list is dropped, so a mark from before that is recognised as stale. */
  private generation = 0
  private merged: Uint8Array | null = null
  private readonly maxBytes: number
  private readonly maxUpdates: number

  constructor(initial: Uint8Array[] | null, limits: { maxBytes: number; maxUpdates: number }) {
    this.maxBytes = limits.maxBytes
    this.maxUpdates = limits.maxUpdates
    this.updates = initial ?? []
    this.bytes = this.updates.reduce((sum, u) => sum + u.length, 0)
    this.complete = initial !== null
  }

  add(update: Uint8Array): void {
    this.merged = null
    if (this.updates.length >= this.maxUpdates || this.bytes + update.length > this.maxBytes) {
      this.drop()
      return
    }
    this.updates.push(update)
    this.bytes += update.length
  }

  /** Forgets everything (e.g. after state was merged in from outside the update stream). */
  drop(): void {
    this.updates = []
    this.bytes = 0
    this.complete = false
    this.merged = null
    this.generation++
  }

  mark(covered: boolean): SinceBaseMark {
    return { covered, position: this.updates.length, generation: this.generation }
  }

  /** A snapshot covering everything before `mark` became the base. */
  rebase(mark: SinceBaseMark): void {
    this.merged = null
    if (!mark.covered) return // keep all: a superset of what the new base lacks
    if (mark.generation !== this.generation) return // dropped since the mark: still incomplete
    this.updates = this.updates.slice(mark.position)
    this.bytes = this.updates.reduce((sum, u) => sum + u.length, 0)
    this.complete = true
  }

  /** Everything applied since the base as one update; undefined when unknown; null when none. */
  asUpdate(): Uint8Array | null | undefined {
    if (!this.complete) return undefined
    if (this.updates.length === 0) return null
    this.merged ??= this.updates.length === 1 ? this.updates[0]! : Y.mergeUpdates(this.updates)
    return this.merged
  }
}
