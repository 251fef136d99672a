/**
 * Decides whether a member's update may enter a document, on the update's bytes and the room's
 * structural index (no Y.Doc):
 *   1. identity: every struct it creates is under a client id bound to the writer (or unbound,
 *      and then bound to the writer by accepting it) and not claimed by another user's presence;
 *   2. content: each new item satisfies the document's rules (rules.ts);
 *   3. deletions: deleting one's own content is always allowed; anyone else's only as the rules
 *      say; content the document does not have yet waits for it (pending) under an id nobody holds.
 * An update whose dependencies are missing is `pending`: the caller holds it until they arrive.
 * One with new content (or deletions of unknown content) under another user's id is `foreign`:
 * the caller holds it until this node has read the log as far as it reached when the update
 * came (another node may have logged that content), then judges it again and refuses what is
 * still foreign.
 *
 * Accepting (or trusting, for content already in the log) updates the index and the rules'
 * state, so the next check sees everything accepted before it.
 */
import { LOG_START, type LogId } from '../../log/log-id.ts'
import type { LoggedUpdate } from '../../log/record-codec.ts'
import type { Role } from '../principal.ts'
import { CONTENT, type StructId } from '../wire/update-validator.ts'
import type { DocumentRules, Duplicate, RuleContext } from './rules.ts'
import { COLLECTED, StructIndex, UNPLACED, type IndexPart } from './struct-index.ts'
import { analyzeTrusted, analyzeUpdate, typeKey, type DeleteRange, type ReadyUpdate } from './update-analysis.ts'
import type { Knowledge } from '../sync/effective-update.ts'

export interface Author {
  userId: string
  role: Role
}

export type Verdict =
  /** `posts`: chat messages the update posts (the writer's post budget pays for them). */
  | { kind: 'accept'; update: ReadyUpdate; posts: number }
  /**
   * `blocked`: structs of the update that wait for the missing one (none: all of it does).
   * `deletion`: only its deletions under `missing.client` wait (its structs need not).
   */
  | { kind: 'pending'; missing: StructId; blocked?: StructId[]; deletion?: true }
  /**
   * It writes, or deletes content this node does not have, under another user's client id: a
   * forgery, or content that user wrote through another node that this one has not read yet (a
   * stock client passes on everything it has). The caller holds it until the log is read up to
   * where that content would be, then judges it again: known content is then no longer new.
   */
  | { kind: 'foreign'; missing: StructId; reason: string; waitFor: 'content' | 'log'; wholeClient?: true }
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

  /**
   * Throws DecodeError for malformed updates (the validator runs as part of the check). `judged`:
   * the update was held as foreign and this node has read since what the log held then, so what
   * the rules refuse is the writer's own doing, refused with the rules' reason. `resend`: it came
   * in a sync step 2, which carries whatever the client holds, others' deletions too.
   */
  check(update: Uint8Array, author: Author, judged = false, resend = false): Verdict {
    const analysis = analyzeUpdate(update, this.index)
    const clients = analysis.status === 'missing' ? analysis.clients : analysis.structs.map((s) => s.client)
    const foreign = this.foreignClient(clients, author.userId)
    if (foreign !== null) return { kind: 'foreign', missing: { client: foreign, clock: this.index.state(foreign) }, reason: `client id ${foreign} belongs to another user`, waitFor: 'content' }
    if (analysis.status === 'missing') return { kind: 'pending', missing: analysis.missing, blocked: analysis.blocked }
    analysis.deletes = mergeRanges(analysis.deletes)
    const context = this.context(analysis, author)
    const claimed = judged ? null : this.claimedByAnother(analysis, context)
    if (claimed !== null) return { kind: 'foreign', missing: { client: claimed, clock: this.index.state(claimed) }, reason: `client id ${claimed} writes another user's content`, waitFor: 'content' }
    const itemReason = this.itemProblem(analysis, context)
    if (itemReason !== null) return { kind: 'refuse', reason: itemReason }
    const unknown = this.unknownDeleted(analysis.deletes, context)
    if (unknown !== null) return unknown
    const refused = this.deleteProblem(analysis.deletes, context)
    const passedOn = refused === null && resend && !judged ? this.passedOnDeletion(analysis, context) : null
    if (passedOn !== null) return passedOn
    if (refused === null) return { kind: 'accept', update: analysis, posts: context.posts }
    if (judged) return { kind: 'refuse', reason: refused.reason }
    // Another user's deletion the rules would not allow this writer: a stock client passes on
    // deletions it got through a node that has not read them yet; once it has, they are not new.
    return { kind: 'foreign', missing: refused.at, reason: refused.reason, waitFor: 'log' }
  }

  /**
   * The server's own edit on a user's behalf (restoring a version, rolling back): the document's
   * rules do not apply (it brings back others' strokes with their authors), identity still does.
   */
  checkServerEdit(update: Uint8Array, author: Author): Verdict {
    const analysis = analyzeUpdate(update, this.index)
    const clients = analysis.status === 'missing' ? analysis.clients : analysis.structs.map((s) => s.client)
    const foreign = this.foreignClient(clients, author.userId)
    if (foreign !== null) return { kind: 'refuse', reason: `client id ${foreign} belongs to another user` }
    if (analysis.status === 'missing') return { kind: 'pending', missing: analysis.missing }
    if (author.role === 'owner') return { kind: 'accept', update: analysis, posts: 0 }
    // Bringing content back needs no rule's leave; deleting others' content still does (an
    // editor's restore must not remove the chat messages only their authors and owners may).
    analysis.deletes = mergeRanges(analysis.deletes)
    const refused = this.deleteProblem(analysis.deletes, this.context(analysis, author))
    return refused === null ? { kind: 'accept', update: analysis, posts: 0 } : { kind: 'refuse', reason: refused.reason }
  }

  /** What the index holds, for deciding what of an update is new (sync/effective-update.ts). */
  readonly knowledge: Knowledge = {
    knownUpTo: (client) => this.index.unknownParts(client, 0, this.index.state(client))[0]?.[0] ?? this.index.state(client),
    undeleted: (client, clock, length) => this.index.undeleted(client, clock, length),
    heldPast: (client, from, to) => this.index.placedParts(client, from, to - from).map(([start, end]) => [start, end] as [number, number]),
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
      // Only content binds an id: deleted and collected ranges are what every client passes on of others'.
      if (holdsContent(struct)) this.index.bind(struct.client, author.userId)
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
      posts: 0,
      ...(at !== undefined && { at }),
    }
  }

  /** A client id the update writes new structs under that is another user's, or null. */
  private foreignClient(clients: number[], writer: string): number | null {
    for (const client of new Set(clients)) {
      const owner = this.index.bindings.get(client) ?? this.options.claimedBy(client)
      if (owner !== undefined && owner !== writer) return client
    }
    return null
  }

  /**
   * A client id nobody holds yet whose new content names another author: it is that author's
   * (a stock client passing on what she wrote through a node that has not read it yet, or that
   * lost it), so it is foreign, not the writer's to take.
   */
  private claimedByAnother(update: ReadyUpdate, context: RuleContext): number | null {
    if (!this.rules.claimedAuthor) return null
    for (const struct of update.structs) {
      if (struct.item === null || this.index.bindings.has(struct.client)) continue
      const claimed = this.rules.claimedAuthor(struct, context)
      if (claimed !== undefined && claimed !== context.writer) return struct.client
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
   * known only then. Under another user's id it is `foreign`: judged once this node has read
   * what the log held when it came, so it can never arm an eraser for her next stroke.
   */
  private unknownDeleted(deletes: DeleteRange[], context: RuleContext): Verdict | null {
    for (const { client, clock, length } of deletes) {
      if (context.creatorOf(client) === context.writer) continue // one's own content
      const known = this.knownUpTo(client, clock, length)
      if (known === clock + length) continue
      const owner = this.index.bindings.get(client) ?? this.options.claimedBy(client)
      if (owner !== undefined) return { kind: 'foreign', missing: { client, clock: known }, reason: 'deletes content the document does not have', waitFor: 'content' }
      return { kind: 'pending', missing: { client, clock: known }, deletion: true }
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

  /**
   * A resend's deletion that may be another member's, passed on (it waits until this node has
   * read the log as far as it reached: then it is not new, or it is the sender's):
   * - of another member's content, though the rules allow it: an eraser's stroke logged through
   *   another node that this one has not read yet would be credited to the client passing it on;
   * - of deleted structs under a client id nobody holds (a message posted and deleted, passed
   *   on): nothing in them shows whose they are, so they wait together with their deletion.
   */
  private passedOnDeletion(update: ReadyUpdate, context: RuleContext): Verdict | null {
    const others = this.othersDeletion(update.deletes, context)
    if (others !== null) return { kind: 'foreign', missing: others, reason: 'deletes another member\'s content this node may not have read yet', waitFor: 'log' }
    const unproven = this.unprovenDeleter(update, context.writer)
    if (unproven !== null) return { kind: 'foreign', missing: unproven, reason: 'deletes content nothing shows to be the writer\'s', waitFor: 'log', wholeClient: true }
    return null
  }

  /**
   * A client id the update brings that nobody holds, none of whose structs here holds content,
   * and whose clocks it deletes (the first of its structs), or null.
   */
  private unprovenDeleter(update: ReadyUpdate, writer: string): StructId | null {
    const deleted = new Set(update.deletes.map((range) => range.client))
    if (deleted.size === 0) return null
    const first = new Map<number, number>()
    const proven = new Set<number>()
    for (const struct of update.structs) {
      if (!deleted.has(struct.client) || this.index.bindings.has(struct.client)) continue
      if (holdsContent(struct)) proven.add(struct.client)
      if (!first.has(struct.client)) first.set(struct.client, struct.clock)
    }
    for (const [client, clock] of first) if (!proven.has(client) && this.options.claimedBy(client) !== writer) return { client, clock }
    return null
  }

  /** Where the update deletes content of another user's that the document still holds, or null. */
  private othersDeletion(deletes: DeleteRange[], context: RuleContext): StructId | null {
    for (const { client, clock, length } of deletes) {
      if (context.creatorOf(client) === context.writer) continue
      for (const [from, to] of this.index.placedParts(client, clock, length)) {
        const [undeleted] = this.index.undeleted(client, from, to - from)
        if (undeleted) return { client, clock: undeleted[0] }
      }
    }
    return null
  }

  /** Deletions of others' content the rules refuse (all of it known: unknownDeleted ran first). */
  private deleteProblem(deletes: DeleteRange[], context: RuleContext): { reason: string; at: StructId } | null {
    for (const { client, clock, length } of deletes) {
      const own = context.creatorOf(client) === context.writer
      if (own && !this.rules.countDeleted) continue // one's own content: nothing to check or count
      for (const [from, to, container] of this.index.placedParts(client, clock, length)) {
        const undeleted = this.index.undeleted(client, from, to - from)
        if (undeleted.length === 0) continue // already deleted: no effect
        this.rules.countDeleted?.(container, undeleted.reduce((sum, [start, end]) => sum + end - start, 0), context)
        if (own) continue
        const reason = this.rules.checkDelete(container, context)
        if (reason !== null) return { reason, at: { client, clock: from } }
      }
    }
    return null
  }
}

function holdsContent(struct: { item: { contentRef: number } | null }): boolean {
  return struct.item !== null && struct.item.contentRef !== CONTENT.deleted
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
