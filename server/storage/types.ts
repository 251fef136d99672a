/**
 * Storage behind one interface, two implementations: LevelDB (embedded, one node) and MongoDB.
 * Both pass the same conformance suite (test/storage/conformance.ts).
 */
import type { LogId } from '../log/log-id.ts'
import type { FeedStore, WebhookStore } from './feed-types.ts'
import type { BaseRole, GroupRecord, InviteRecord, MembershipRecord, SessionRecord, UserRecord } from './records.ts'

export interface Snapshot {
  /** A Yjs update holding the whole document state up to (at least) `watermark`. */
  update: Uint8Array
  /** Every log entry with id ≤ watermark is contained in `update`. */
  watermark: LogId
  savedAt: number
}

export interface SnapshotStore {
  load(room: string): Promise<Snapshot | null>
  /** The stored watermark alone (cheap), or null when no snapshot exists. */
  watermark(room: string): Promise<LogId | null>
  /**
   * Stores the snapshot unless one with a watermark ≥ `watermark` exists (two writers can race;
   * the newer always wins). Returns whether this one was stored.
   */
  save(room: string, update: Uint8Array, watermark: LogId): Promise<boolean>
  delete(room: string): Promise<void>
}

/** A unique key (e.g. an email) is already taken. */
export class DuplicateError extends Error {
  override name = 'DuplicateError'
}

export interface UserStore {
  /** Throws DuplicateError if the email is taken. */
  create(user: UserRecord): Promise<void>
  byId(id: string): Promise<UserRecord | null>
  byEmail(email: string): Promise<UserRecord | null>
  /** Several users by id, in no particular order; unknown ids are left out. */
  byIds(ids: string[]): Promise<UserRecord[]>
}

export interface GroupStore {
  /** Creates the group and the owner's membership. */
  create(group: GroupRecord, ownerMembership: MembershipRecord): Promise<void>
  byId(id: string): Promise<GroupRecord | null>
  byIds(ids: string[]): Promise<GroupRecord[]>
  update(id: string, changes: Partial<Pick<GroupRecord, 'name' | 'description'>>): Promise<GroupRecord | null>
  /** Atomically moves ownership, only if `from` still owns it. Returns whether it moved. */
  transferOwnership(id: string, from: string, to: string): Promise<boolean>
  /** Removes the group with its memberships and invites. */
  delete(id: string): Promise<void>
}

export interface MembershipStore {
  get(groupId: string, userId: string): Promise<MembershipRecord | null>
  /** Inserts or replaces. */
  put(membership: MembershipRecord): Promise<void>
  /** Inserts unless present; returns whether it inserted. */
  add(membership: MembershipRecord): Promise<boolean>
  setRole(groupId: string, userId: string, role: BaseRole): Promise<boolean>
  remove(groupId: string, userId: string): Promise<boolean>
  byGroup(groupId: string): Promise<MembershipRecord[]>
  byUser(userId: string): Promise<MembershipRecord[]>
  countByGroup(groupId: string): Promise<number>
}

export interface InviteStore {
  create(invite: InviteRecord): Promise<void>
  get(code: string): Promise<InviteRecord | null>
  byGroup(groupId: string): Promise<InviteRecord[]>
  /** Counts one use if the invite exists, has not expired at `now` and has uses left. */
  consume(code: string, now: number): Promise<InviteRecord | null>
  delete(code: string): Promise<boolean>
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>
  /** Removes and returns the session if it exists and is unexpired at `now` (one use only). */
  consume(tokenHash: string, now: number): Promise<SessionRecord | null>
  revoke(tokenHash: string): Promise<void>
  revokeUser(userId: string): Promise<void>
}

/**
 * Small named values that every node sharing the store must agree on (e.g. the development JWT
 * secret). Written once, by whichever node gets there first, and never changed.
 */
export interface SettingsStore {
  /**
   * The value stored under `key`; if there is none, stores `create()` unless another writer
   * stored one first. Every caller, on every node, gets the one stored value.
   */
  getOrCreate(key: string, create: () => string): Promise<string>
}

/** One kept state of a group document (issue 15). */
export interface VersionRecord {
  id: string
  /** `<groupId>/canvas` or `<groupId>/chat` */
  room: string
  createdAt: number
  /** Set for named versions (kept forever); null for automatic ones. */
  name: string | null
  /** Users whose edits it contains since the previous version. */
  authors: string[]
  /** Size of the stored state in bytes. */
  bytes: number
  /** SHA-256 of the state (base64url), when known: a version equal to the one before it shares its bytes. */
  hash?: string
  /**
   * Set when this version stores no state of its own: the id of the (earlier) version of the same
   * room whose state it equals, which stores it. Retention keeps a version others share.
   */
  sameAs?: string
  /** Who made it and how (absent for automatic versions, and versions kept before this was recorded). */
  made?: VersionMade
}

/**
 * A version someone made: named it, or the state kept just before a restore or a rollback they
 * ran (restoring that version undoes it).
 */
export interface VersionMade {
  by: string
  kind: 'named' | 'restore' | 'rollback'
  /** restore: the version restored (its id and its label then). */
  restored?: { id: string; name: string }
  /** rollback: whose changes were rolled back, since when (ms). */
  user?: string
  since?: number
  /**
   * restore, rollback: the strokes the edit brought back, as the items of their copies (content
   * id, Yjs client id and clock). A later rollback reads them to tell whose erasure came last.
   */
  copies?: Array<{ id: string; client: number; clock: number }>
}

export interface VersionStore {
  /**
   * Stores a version and its state (a full document state; may exceed 16 MiB), or with `sameAs`
   * set, the record alone (`state` is the shared one, for its size). Ids are unique: a second
   * create with the same id rejects.
   */
  create(record: VersionRecord, state: Uint8Array): Promise<void>
  /** A room's versions, newest first (createdAt desc, then id desc), at most `limit`; `before` = a createdAt: only older ones (exclusive), for paging. */
  list(room: string, options: { limit: number; before?: number }): Promise<VersionRecord[]>
  /** Every version of a room, oldest first, without states (for retention thinning). */
  all(room: string): Promise<VersionRecord[]>
  /** One version of `room`, or null (also null when the id belongs to another room). */
  get(room: string, id: string): Promise<VersionRecord | null>
  /** Its state (the shared one for a `sameAs` version), or null as for get. */
  state(room: string, id: string): Promise<Uint8Array | null>
  /** Removes these versions of the room (and their states); unknown ids are ignored. */
  delete(room: string, ids: string[]): Promise<void>
  deleteRoom(room: string): Promise<void>
}

/** What one user changed in a document during one compaction window (kept for history: who drew and who erased what). */
export interface EditRecord {
  room: string
  /** When (ms since the epoch) the first of these edits was made. */
  at: number
  user: string
  /** Struct ranges the user created: [client id, first clock, end clock). */
  created: Array<[number, number, number]>
  /** What the user deleted: a Yjs delete set, encoded (as in an update with no structs: Y.encodeStateAsUpdate-style DS bytes; treat as opaque bytes). */
  deleted: Uint8Array
}

export interface EditStore {
  /**
   * Stores records; with `upTo`, atomically with them, that every edit in the room's log entries
   * up to that id is recorded now (a fold recorded them; its snapshot may still fail to save, and
   * the next fold, on any node, must not record them again).
   */
  append(records: EditRecord[], upTo?: LogId): Promise<void>
  /** The newest `upTo` stored with a room's records (null: none). */
  recordedUpTo(room: string): Promise<LogId | null>
  /** A room's records with at >= since (and at < until when given), oldest first (ties in append order). */
  list(room: string, options: { since: number; until?: number }): Promise<EditRecord[]>
  /** Removes a room's records older than `before`. */
  prune(room: string, before: number): Promise<void>
  deleteRoom(room: string): Promise<void>
}

export interface Storage {
  readonly kind: 'embedded' | 'mongodb'
  readonly snapshots: SnapshotStore
  readonly users: UserStore
  readonly groups: GroupStore
  readonly members: MembershipStore
  readonly invites: InviteStore
  readonly sessions: SessionStore
  readonly settings: SettingsStore
  readonly versions: VersionStore
  readonly edits: EditStore
  /** The change feed and its item index (issue 22). */
  readonly feed: FeedStore
  readonly webhooks: WebhookStore
  /** Resolves when the backing store answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}
