/**
 * The chat document's rules (shared/chat.ts describes the shape):
 *   - only the root `messages`, holding message objects with exactly the documented fields;
 *   - a message's `author` is the user who writes it; ids are unique; text and name within the
 *     REST limits; `time` no older than the offline window and at most a little in the future;
 *   - messages are immutable; a message is deleted only by its author or the group owner.
 * Two nodes may take one message id at the same moment (each checks against what it has seen,
 * and one may read the log late): the message first in log order keeps the id, and the room
 * deletes the others. Log order is the one thing every node sees alike and no writer chooses (an
 * item id is the writer's to pick). A node knows a message's place once its entry is read, or,
 * for its own writes, once the append commits: on a node that reads the log late, its own copy
 * may commit before it reads the earlier original, or still be on its way when it does. So an id
 * that two messages claim is settled only when every claim's place is known, whatever the order
 * they became known in; every node then names the same duplicates, and deleting is idempotent.
 * Messages in a snapshot are before everything after it, but their order among themselves is
 * lost: two of them under one id (folded before any node deleted either) are both kept.
 */
import { CHAT_LIMITS, MESSAGES_KEY, withinChars } from '../../../shared/chat.ts'
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import { itemValues } from './item-values.ts'
import type { Duplicate, DocumentRules, RuleContext } from './rules.ts'
import { COLLECTED } from './struct-index.ts'
import type { NewStruct } from './update-analysis.ts'

export interface ChatRuleOptions {
  /** How old a message's time may be (edits made offline arrive late). */
  offlineWindowMs: number
  /** How far ahead of the server's clock a message's time may be. */
  maxFutureMs: number
}

const MESSAGE_FIELDS = new Set(['id', 'author', 'authorName', 'text', 'time'])
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** The message's item id, its writer and its log entry (none while on its way to the log). */
interface Taken {
  client: number
  clock: number
  writer: string
  at?: LogId
}

type SavedEntry = { id: string; taken: Taken } | { contested: string; claims: Taken[] } | { duplicate: Duplicate }

export class ChatRules implements DocumentRules {
  /** Who holds each message id (for a contested id: one of its claims). */
  private readonly ids = new Map<string, Taken>()
  /** Ids more than one message took, until every claim's place in the log is known. */
  private readonly contested = new Map<string, Taken[]>()
  /** Claims of this node's own writes, still on their way to the log. */
  private unlogged: Array<{ id: string; taken: Taken }> = []
  private duplicates: Duplicate[] = []
  private readonly options: ChatRuleOptions

  constructor(options: ChatRuleOptions) {
    this.options = options
  }

  checkItem(struct: NewStruct, context: RuleContext): string | null {
    if (struct.container === COLLECTED) return null
    if (!isMessages(struct.container, context)) return 'not part of the chat (only messages in the root "messages")'
    const values = itemValues(struct.bytes, struct.item!, struct.offset)
    if (values.kind === 'deleted') return null
    if (values.kind !== 'values') return 'a message is a plain object'
    for (const value of values.values) {
      const problem = this.messageProblem(value, context)
      if (problem) return problem
    }
    return null
  }

  claimedAuthor(struct: NewStruct, context: RuleContext): string | undefined {
    if (struct.item === null || !isMessages(struct.container, context)) return undefined
    const values = itemValues(struct.bytes, struct.item, struct.offset)
    if (values.kind !== 'values') return undefined
    const author = (values.values[0] as { author?: unknown } | null)?.author
    return typeof author === 'string' ? author : undefined
  }

  checkDelete(container: number, context: RuleContext): string | null {
    if (container === COLLECTED) return null
    if (isMessages(container, context) && context.role === 'owner') return null
    return 'a message is deleted only by its author or the group owner'
  }

  countDeleted(container: number, count: number, context: RuleContext): void {
    if (container !== COLLECTED && isMessages(container, context)) context.posts += count // each is a feed event
  }

  saveState(): SavedEntry[] {
    const entries: SavedEntry[] = []
    for (const [id, taken] of this.ids) if (!this.contested.has(id)) entries.push({ id, taken })
    for (const [id, claims] of this.contested) entries.push({ contested: id, claims })
    for (const duplicate of this.duplicates) entries.push({ duplicate })
    return entries
  }

  loadState(entries: unknown[]): void {
    for (const entry of entries as SavedEntry[]) {
      if ('duplicate' in entry) this.duplicates.push(entry.duplicate)
      else if ('contested' in entry) this.loadClaims(entry.contested, entry.claims)
      else this.loadClaims(entry.id, [entry.taken])
    }
  }

  /** Own writes reached the log: their claims get their place, which may settle a contested id. */
  logged(clients: ReadonlyMap<number, readonly [number, number]>, at: LogId): void {
    const settled = new Set<string>()
    for (const { id, taken } of this.unlogged) {
      const range = clients.get(taken.client)
      if (range === undefined || taken.clock < range[0] || taken.clock >= range[1]) continue
      taken.at = at
      settled.add(id)
    }
    this.unlogged = this.unlogged.filter(({ taken }) => taken.at === undefined)
    for (const id of settled) this.settle(id)
  }

  observe(struct: NewStruct, context: RuleContext): void {
    if (struct.item === null || !isMessages(struct.container, context)) return
    const values = itemValues(struct.bytes, struct.item, struct.offset)
    if (values.kind !== 'values') return
    values.values.forEach((value, i) => {
      const id = (value as { id?: unknown } | null)?.id
      if (typeof id !== 'string') return
      const taken: Taken = { client: struct.client, clock: struct.clock + struct.offset + i, writer: context.writer, ...(context.at !== undefined && { at: context.at }) }
      this.take(id, taken)
    })
  }

  takeDuplicates(): Duplicate[] {
    const taken = this.duplicates
    this.duplicates = []
    return taken
  }

  /** Records a message under its id; a second one (written on another node) contests it. */
  private take(id: string, taken: Taken): void {
    const holder = this.ids.get(id)
    if (holder === undefined) {
      this.ids.set(id, taken)
      if (taken.at === undefined) this.unlogged.push({ id, taken })
      return
    }
    const claims = this.contested.get(id) ?? [holder]
    const same = claims.find((c) => c.client === taken.client && c.clock === taken.clock)
    if (same) {
      same.at ??= taken.at // the same message, seen again: perhaps now with its place
      return this.settle(id)
    }
    claims.push(taken)
    if (taken.at === undefined) this.unlogged.push({ id, taken })
    this.contested.set(id, claims)
    this.settle(id)
  }

  /**
   * Once every claim on an id has its place in the log, the first keeps it and the later ones
   * are duplicates. Claims tied first (all in the snapshot, their order lost) are all kept.
   */
  private settle(id: string): void {
    const claims = this.contested.get(id)
    if (!claims || claims.some((c) => c.at === undefined)) return
    const first = claims.reduce((a, b) => (compareLogIds(b.at!, a.at!) < 0 ? b : a))
    this.ids.set(id, first)
    this.contested.delete(id)
    for (const claim of claims) {
      if (compareLogIds(claim.at!, first.at!) > 0) this.duplicates.push({ client: claim.client, clock: claim.clock, length: 1, writer: claim.writer })
    }
  }

  /** Claims restored from another gate's state (one object per claim, shared by `ids` and `contested`). */
  private loadClaims(id: string, claims: Taken[]): void {
    this.ids.set(id, claims[0]!)
    if (claims.length > 1) this.contested.set(id, claims)
    for (const taken of claims) if (taken.at === undefined) this.unlogged.push({ id, taken })
  }

  private messageProblem(value: unknown, context: RuleContext): string | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a message is a plain object'
    // A prototype other than Object.prototype (an encoded `__proto__` key sets one) would carry
    // fields Object.keys below cannot see; itemValues refuses those too, this keeps the rule whole.
    if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, '__proto__')) return 'a message is a plain object'
    const message = value as Record<string, unknown>
    if (Object.keys(message).some((key) => !MESSAGE_FIELDS.has(key))) return 'a message has only id, author, authorName, text and time'
    const { id, author, authorName, text, time } = message
    if (typeof id !== 'string' || !MESSAGE_ID.test(id)) return 'a message id is 1-64 letters, digits, - or _'
    if (this.ids.has(id) || context.tally.has(id)) return `message id ${id} is taken`
    context.tally.set(id, 1)
    context.posts++
    if (author !== context.writer) return 'a message\'s author must be the user who writes it'
    // Characters counted as the REST schema counts them (shared/chat.ts charCount): whatever
    // REST takes, the rules take.
    if (authorName !== undefined && (typeof authorName !== 'string' || !withinChars(authorName, CHAT_LIMITS.maxNameLength))) return `a name is at most ${CHAT_LIMITS.maxNameLength} characters`
    if (typeof text !== 'string' || text.trim().length === 0 || !withinChars(text, CHAT_LIMITS.maxTextLength)) return `a message text is 1-${CHAT_LIMITS.maxTextLength} characters`
    return this.timeProblem(time, context.now)
  }

  private timeProblem(time: unknown, now: number): string | null {
    if (typeof time !== 'number' || !Number.isFinite(time)) return 'a message time is a number of milliseconds'
    if (time < now - this.options.offlineWindowMs) return 'a message time is older than the offline window'
    if (time > now + this.options.maxFutureMs) return 'a message time is in the future'
    return null
  }
}

function isMessages(container: number, context: RuleContext): boolean {
  const { root, key } = context.index.container(container)
  return root === MESSAGES_KEY && key === null
}
