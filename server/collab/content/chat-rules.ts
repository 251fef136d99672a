/**
 * The chat document's rules (shared/chat.ts describes the shape):
 *   - only the root `messages`, holding message objects with exactly the documented fields;
 *   - a message's `author` is the user who writes it; ids are unique; text and name within the
 *     REST limits; `time` no older than the offline window and at most a little in the future;
 *   - messages are immutable; a message is deleted only by its author or the group owner.
 * Two nodes may take one message id at the same moment (each checks against what it has seen):
 * when trusted content brings a second message under an id, the one at the larger item id is a
 * duplicate, the same on every node whatever order they saw them in, and the room deletes it.
 */
import { CHAT_LIMITS, MESSAGES_KEY } from '../../../shared/chat.ts'
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

/** The message's item id and its writer: where a message id was taken, and by whom. */
interface Taken {
  client: number
  clock: number
  writer: string
}

type SavedEntry = { id: string; taken: Taken } | { duplicate: Duplicate }

export class ChatRules implements DocumentRules {
  private readonly ids = new Map<string, Taken>()
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

  checkDelete(container: number, context: RuleContext): string | null {
    if (container === COLLECTED) return null
    if (isMessages(container, context) && context.role === 'owner') return null
    return 'a message is deleted only by its author or the group owner'
  }

  saveState(): SavedEntry[] {
    const entries: SavedEntry[] = [...this.ids].map(([id, taken]) => ({ id, taken }))
    for (const duplicate of this.duplicates) entries.push({ duplicate })
    return entries
  }

  loadState(entries: unknown[]): void {
    for (const entry of entries as SavedEntry[]) {
      if ('duplicate' in entry) this.duplicates.push(entry.duplicate)
      else this.ids.set(entry.id, entry.taken)
    }
  }

  observe(struct: NewStruct, context: RuleContext): void {
    if (struct.item === null || !isMessages(struct.container, context)) return
    const values = itemValues(struct.bytes, struct.item, struct.offset)
    if (values.kind !== 'values') return
    values.values.forEach((value, i) => {
      const id = (value as { id?: unknown } | null)?.id
      if (typeof id === 'string') this.take(id, { client: struct.client, clock: struct.clock + struct.offset + i, writer: context.writer })
    })
  }

  takeDuplicates(): Duplicate[] {
    const taken = this.duplicates
    this.duplicates = []
    return taken
  }

  /** Records who holds a message id; a second holder (from another node) loses by item id. */
  private take(id: string, taken: Taken): void {
    const holder = this.ids.get(id)
    if (holder === undefined) return void this.ids.set(id, taken)
    if (holder.client === taken.client && holder.clock === taken.clock) return
    const [winner, loser] = isBefore(holder, taken) ? [holder, taken] : [taken, holder]
    this.ids.set(id, winner)
    this.duplicates.push({ client: loser.client, clock: loser.clock, length: 1, writer: loser.writer })
  }

  private messageProblem(value: unknown, context: RuleContext): string | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a message is a plain object'
    const message = value as Record<string, unknown>
    if (Object.keys(message).some((key) => !MESSAGE_FIELDS.has(key))) return 'a message has only id, author, authorName, text and time'
    const { id, author, authorName, text, time } = message
    if (typeof id !== 'string' || !MESSAGE_ID.test(id)) return 'a message id is 1-64 letters, digits, - or _'
    if (this.ids.has(id) || context.tally.has(id)) return `message id ${id} is taken`
    context.tally.set(id, 1)
    if (author !== context.writer) return 'a message\'s author must be the user who writes it'
    if (authorName !== undefined && (typeof authorName !== 'string' || authorName.length > CHAT_LIMITS.maxNameLength)) return `a name is at most ${CHAT_LIMITS.maxNameLength} characters`
    if (typeof text !== 'string' || text.trim().length === 0 || text.length > CHAT_LIMITS.maxTextLength) return `a message text is 1-${CHAT_LIMITS.maxTextLength} characters`
    return this.timeProblem(time, context.now)
  }

  private timeProblem(time: unknown, now: number): string | null {
    if (typeof time !== 'number' || !Number.isFinite(time)) return 'a message time is a number of milliseconds'
    if (time < now - this.options.offlineWindowMs) return 'a message time is older than the offline window'
    if (time > now + this.options.maxFutureMs) return 'a message time is in the future'
    return null
  }
}

function isBefore(a: Taken, b: Taken): boolean {
  return a.client < b.client || (a.client === b.client && a.clock < b.clock)
}

function isMessages(container: number, context: RuleContext): boolean {
  const { root, key } = context.index.container(container)
  return root === MESSAGES_KEY && key === null
}
