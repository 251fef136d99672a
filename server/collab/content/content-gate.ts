/**
 * Decides whether a member's update may enter a document, on the update's bytes and the room's
 * structural index (no Y.Doc):
 *   1. identity: every struct it creates is under a client id bound to the writer (or unbound,
 *      and then bound to the writer by accepting it) and not claimed by another user's presence;
 *   2. content: each new item satisfies the document's rules (rules.ts);
 *   3. deletions: deleting one's own content is always allowed; anyone else's only as the rules
 *      say; content the document does not have yet waits for it (pending) under an id nobody holds,
 *      and is refused under another user's.
 * An update whose dependencies are missing is `pending`: the caller holds it until they arrive.
 *
 * Accepting (or trusting, for content already in the log) updates the index and the rules'
 * state, so the next check sees everything accepted before it.
 */
import { LOG_START, type LogId } from '../../log/log-id.ts'
import type { LoggedUpdate } from '../../log/record-codec.ts'
import type { Role } from '../principal.ts'
import type { StructId } from '../update-validator.ts'
import type { DocumentRules, Duplicate, RuleContext } from './rules.ts'
import { COLLECTED, StructIndex, UNPLACED, type IndexPart } from './struct-index.ts'
import { analyzeTrusted, analyzeUpdate, typeKey, type DeleteRange, type ReadyUpdate } from './update-analysis.ts'

export interface Author {
  userId: string
  role: Role
}

export type Verdict =
  | { kind: 'accept'; update: ReadyUpdate }
  | { kind: 'pending'; missing: StructId }
  | { kind: 'refuse'; reason: string }

export interface GateOptions {
  /** The user whose socket holds a presence claim on a client id (such ids are theirs to write with). */
  claimedBy(client: number): string | undefined
  now?(): number
}

/**
 * An update already in the document, and where it is in the log: its entry's id, LOG_START for
 * the snapshot's pieces (before everything after them), none while it is on its way to the log.
 */
export interface TrustedUpdate extends LoggedUpdate {
  at?: LogId
}

/**
 * A part of a gate's knowledge as plain data: built in a worker thread for big documents, and
 * passed back a part at a time (one part is a few milliseconds to restore).
 */
export type GatePart =
  | IndexPart
  | { kind: 'rules'; entries: unknown[] }
  /** Trusted updates still waiting to be placed. */
  | { kind: 'waiting'; waiting: TrustedUpdate[] }

/** Updates waiting for structs they need before they can be placed, at most. */
const MAX_WAITING_TO_PLACE = 256

export class ContentGate {
  readonly index = new StructIndex()
  private readonly unplaced = new Map<Uint8Array, { writer: string; at: LogId | undefined }>()
  private readonly rules: DocumentRules
  private readonly options: GateOptions

  constructor(rules: DocumentRules, options: GateOptions) {
    this.rules = rules
    this.options = options
  }

  /** Everything the gate knows, in parts of about `size` items, for `restore` on a fresh gate. */
  toParts(size: number): GatePart[] {
    const parts: GatePart[] = this.index.toParts(size)
    const entries = this.rules.saveState()
    for (let from = 0; from < entries.length; from += size) parts.push({ kind: 'rules', entries: entries.slice(from, from + size) })
    parts.push({ kind: 'waiting', waiting: [...this.unplaced].map(([update, place]) => ({ update, ...place })) })
    return parts
  }

  /** Takes one part of another gate's `parts`, in their order. */
  restore(part: GatePart): void {
    if (part.kind === 'rules') return this.rules.loadState(part.entries)
    if (part.kind !== 'waiting') return this.index.restore(part)
    for (const { update, writer, at } of part.waiting) this.unplaced.set(update, { writer, at })
  }

  /** Throws DecodeError for malformed updates (the validator runs as part of the check). */
  check(update: Uint8Array, author: Author): Verdict {
    const analysis = analyzeUpdate(update, this.index)
    const clients = analysis.status === 'missing' ? analysis.clients : analysis.structs.map((s) => s.client)
    const identity = this.identityProblem(clients, author.userId)
    if (identity !== null) return { kind: 'refuse', reason: identity }
    if (analysis.status === 'missing') return { kind: 'pending', missing: analysis.missing }
    analysis.deletes = mergeRanges(analysis.deletes)
    const context = this.context(analysis, author)
    const itemReason = this.itemProblem(analysis, context)
    if (itemReason !== null) return { kind: 'refuse', reason: itemReason }
    const unknown = this.unknownDeleted(analysis.deletes, context)
    if (unknown !== null) return unknown
    const reason = this.deleteProblem(analysis.deletes, context)
    return reason === null ? { kind: 'accept', update: analysis } : { kind: 'refuse', reason }
  }

  /**
   * The server's own edit on a user's behalf (restoring a version, rolling back): the document's
   * rules do not apply (it brings back others' strokes with their authors), identity still does.
   */
  checkServerEdit(update: Uint8Array, author: Author): Verdict {
    const analysis = analyzeUpdate(update, this.index)
    const clients = analysis.status === 'missing' ? analysis.clients : analysis.structs.map((s) => s.client)
    const identity = this.identityProblem(clients, author.userId)
    if (identity !== null) return { kind: 'refuse', reason: identity }
    return analysis.status === 'missing' ? { kind: 'pending', missing: analysis.missing } : { kind: 'accept', update: analysis }
  }

  /** Takes an accepted update into the index and the rules' state. */
  accept(update: ReadyUpdate, author: Author): void {
    this.take(update, author)
    this.placeWaiting() // it may be what waiting content needed
  }

  /** Takes a stored snapshot's pieces (before every log entry after it) without checks. */
  trustSnapshot(pieces: readonly Uint8Array[]): void {
    this.trust(pieces.map((update) => ({ writer: '', update, at: LOG_START })))
  }

  /** Takes updates already in the document (snapshot pieces, other nodes' entries) without checks. */
  trust(updates: readonly TrustedUpdate[]): void {
    const sources = new Map(updates.map((u) => [u.update, u]))
    const ready = analyzeTrusted(updates.map((u) => u.update), this.index)
    const parts = new Map<string, { part: ReadyUpdate; writer: string; at: LogId | undefined }>()
    let placed = 0
    for (const struct of ready.structs) {
      const source = sources.get(struct.bytes)
      const writer = source?.writer ?? ''
      const at = source?.at
      if (struct.container === UNPLACED) {
        this.waitToPlace(struct.bytes, writer, at)
        continue
      }
      const key = `${writer}\u0000${at ?? ''}`
      let group = parts.get(key)
      if (!group) parts.set(key, group = { part: { ...ready, structs: [], deletes: [] }, writer, at })
      group.part.structs.push(struct)
      placed++
    }
    for (const { part, writer, at } of parts.values()) this.take(part, { userId: writer, role: 'editor' }, at)
    for (const range of ready.deletes) this.index.markDeleted(range.client, range.clock, range.clock + range.length)
    if (placed > 0) this.placeWaiting()
  }

  /** Content this node accepted reached the log as entry `at` (its structs' clocks per client). */
  logged(clients: ReadonlyMap<number, readonly [number, number]>, at: LogId): void {
    this.rules.logged?.(clients, at)
  }

  /** Duplicates trusted content brought in (two nodes took one message id), not deleted yet. */
  takeDuplicates(): Duplicate[] {
    const found = this.rules.takeDuplicates?.() ?? []
    return found.filter((d) => this.index.undeleted(d.client, d.clock, d.length).length > 0)
  }

  /**
   * Content whose place is not known yet (it needs structs that have not arrived) waits, as Yjs
   * keeps pending structs, instead of being put somewhere no rule allows writing: once what it
   * needs arrives, it is placed. Beyond a bound the oldest is given up on (left unknown).
   */
  private waitToPlace(update: Uint8Array, writer: string, at: LogId | undefined): void {
    if (this.unplaced.has(update)) return
    if (this.unplaced.size >= MAX_WAITING_TO_PLACE) this.unplaced.delete(this.unplaced.keys().next().value!)
    this.unplaced.set(update, { writer, at })
  }

  private placeWaiting(): void {
    if (this.unplaced.size === 0) return
    const waiting = [...this.unplaced].map(([update, place]) => ({ update, ...place }))
    this.unplaced.clear()
    this.trust(waiting)
  }

  /** `at`: where the update is in the log (none while on its way there). */
  private take(update: ReadyUpdate, author: Author, at?: LogId): void {
    const context = this.context(update, author, at)
    for (const struct of update.structs) {
      this.index.place(struct.client, struct.clock + struct.offset, struct.clock + struct.length, struct.container)
      this.index.bind(struct.client, author.userId)
      const item = struct.item
      if (item?.typeRef !== null && item !== null && struct.offset === 0 && struct.container !== COLLECTED) {
        this.index.addType(item, { typeRef: item.typeRef, container: struct.container })
      }
      if (item) this.rules.observe(struct, context)
    }
    for (const range of update.deletes) this.index.markDeleted(range.client, range.clock, range.clock + range.length)
  }

  private context(update: ReadyUpdate, author: Author, at?: LogId): RuleContext {
    const introduced = new Set(update.structs.map((s) => s.client).filter((c) => !this.index.bindings.has(c)))
    const deletedNow = deleteLookup(update.deletes)
    return {
      index: this.index,
      writer: author.userId,
      role: author.role,
      now: this.options.now?.() ?? Date.now(),
      typeAt: (id) => update.types.get(typeKey(id)) ?? this.index.typeAt(id),
      creatorOf: (client) => this.index.bindings.get(client) ?? (introduced.has(client) ? author.userId : undefined),
      isDeleted: (id) => this.index.isDeleted(id.client, id.clock) || deletedNow(id),
      tally: new Map(),
      ...(at !== undefined && { at }),
    }
  }

  /** Every client id the update writes under is the writer's, or free. */
  private identityProblem(clients: number[], writer: string): string | null {
    for (const client of new Set(clients)) {
      const owner = this.index.bindings.get(client) ?? this.options.claimedBy(client)
      if (owner !== undefined && owner !== writer) return `client id ${client} belongs to another user`
    }
    return null
  }

  private itemProblem(update: ReadyUpdate, context: RuleContext): string | null {
    for (const struct of update.structs) {
      if (struct.item === null) continue
      const reason = this.rules.checkItem(struct, context)
      if (reason !== null) return reason
    }
    return null
  }

  /**
   * Deleting content the document does not have yet, under a client id nobody holds, waits for
   * it, as Yjs keeps a pending delete set: a client may send an erase before the strokes it
   * erases (out of order), and which content it is, so whether the rules allow deleting it, is
   * known only then. Under another user's id it is refused: a stock client never knows another
   * user's content before the server does, and holding it would arm an eraser for her next stroke.
   */
  private unknownDeleted(deletes: DeleteRange[], context: RuleContext): Verdict | null {
    for (const { client, clock, length } of deletes) {
      if (context.creatorOf(client) === context.writer) continue // one's own content
      const known = this.knownUpTo(client, clock, length)
      if (known === clock + length) continue
      const owner = this.index.bindings.get(client) ?? this.options.claimedBy(client)
      if (owner !== undefined) return { kind: 'refuse', reason: 'deletes content the document does not have' }
      return { kind: 'pending', missing: { client, clock: known } }
    }
    return null
  }

  /** The end of the known run of a client's structs starting at `clock`, within `length`. */
  private knownUpTo(client: number, clock: number, length: number): number {
    let known = clock
    for (const [from, to] of this.index.placedParts(client, clock, length)) {
      if (from > known) break
      known = to
    }
    return known
  }

  /** Deletions of others' content, all of it known (unknownDeleted ran first). */
  private deleteProblem(deletes: DeleteRange[], context: RuleContext): string | null {
    for (const { client, clock, length } of deletes) {
      if (context.creatorOf(client) === context.writer) continue // one's own content
      for (const [from, to, container] of this.index.placedParts(client, clock, length)) {
        if (this.index.undeleted(client, from, to - from).length === 0) continue // already deleted: no effect
        const reason = this.rules.checkDelete(container, context)
        if (reason !== null) return reason
      }
    }
    return null
  }
}

/**
 * Sorted, overlapping and adjacent ranges of a client merged: each deleted clock is looked at
 * once, however many times a hostile delete set repeats it.
 */
function mergeRanges(deletes: DeleteRange[]): DeleteRange[] {
  const sorted = [...deletes].sort((a, b) => a.client - b.client || a.clock - b.clock)
  const merged: DeleteRange[] = []
  for (const range of sorted) {
    const last = merged.at(-1)
    if (last && last.client === range.client && range.clock <= last.clock + last.length) {
      last.length = Math.max(last.length, range.clock + range.length - last.clock)
    } else {
      merged.push({ ...range })
    }
  }
  return merged
}

/** Whether this update's (merged) delete set covers an id: a binary search. */
function deleteLookup(deletes: DeleteRange[]): (id: StructId) => boolean {
  return (id) => {
    let low = 0
    let high = deletes.length
    while (low < high) {
      const mid = (low + high) >>> 1
      const d = deletes[mid]!
      if (d.client < id.client || (d.client === id.client && d.clock + d.length <= id.clock)) low = mid + 1
      else high = mid
    }
    const found = deletes[low]
    return found !== undefined && found.client === id.client && found.clock <= id.clock
  }
}
