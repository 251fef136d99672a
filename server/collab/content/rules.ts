/**
 * A document's content rules, checked on update bytes against the structural index: who may
 * create, change or delete what. One implementation per document kind (canvas, chat).
 */
import type { LogId } from '../../log/log-id.ts'
import type { Role } from '../principal.ts'
import type { StructId } from '../wire/update-validator.ts'
import type { StructIndex, TypeItem } from './struct-index.ts'
import type { NewStruct } from './update-analysis.ts'

/** What rules may ask about the document and the update being checked. */
export interface RuleContext {
  index: StructIndex
  /** The user writing the update. */
  writer: string
  role: Role
  now: number
  /** The type held by the item at `id`, from the index or created by this update. */
  typeAt(id: StructId): TypeItem | undefined
  /** The user a client id is bound to (the writer, for client ids this update introduces). */
  creatorOf(client: number): string | undefined
  /** The item at `id` is deleted, in the document or by this update. */
  isDeleted(id: StructId): boolean
  /** Scratch counts for the update being checked (what its earlier items added). */
  tally: Map<string, number>
  /** Posts (chat messages) the update's new items make: counted by the rules, paid by the writer. */
  posts: number
  /**
   * Where the content being taken is in the log: its entry's id, LOG_START for the snapshot;
   * absent while it is on its way to the log (`DocumentRules.logged` tells when it gets there).
   */
  at?: LogId
}

/** Content trusted updates brought in that the rules never let in beside what was there. */
export interface Duplicate {
  client: number
  clock: number
  length: number
  /** Who wrote it (the room deletes it on their behalf). */
  writer: string
}

export interface DocumentRules {
  /** Why the writer may not add this new item (null: allowed). Garbage ranges are never checked. */
  checkItem(struct: NewStruct, context: RuleContext): string | null
  /** Why the writer may not delete another user's content in `container` (null: allowed). */
  checkDelete(container: number, context: RuleContext): string | null
  /** Counts `count` clocks of `container` the update deletes, anyone's (chat: messages deleted are posts). */
  countDeleted?(container: number, count: number, context: RuleContext): void
  /**
   * The user a new item says wrote it (a stroke's or message's author), if it says so: content
   * under a client id nobody holds yet that names another author is that author's, and is judged
   * as content under her id would be (content-gate.ts).
   */
  claimedAuthor?(struct: NewStruct, context: RuleContext): string | undefined
  /** Records what an accepted (or trusted) item adds to the rules' own state. */
  observe(struct: NewStruct, context: RuleContext): void
  /** This node's own content (structs of each client, [first, end) clocks) reached the log as entry `at`. */
  logged?(clients: ReadonlyMap<number, readonly [number, number]>, at: LogId): void
  /** Duplicates found since the last call (only rules with unique keys find any). */
  takeDuplicates?(): Duplicate[]
  /**
   * The rules' own state as a list of plain entries (to pass between threads in parts), and back:
   * `loadState` adds entries, so a state can be loaded a part at a time.
   */
  saveState(): unknown[]
  loadState(entries: unknown[]): void
}
