/**
 * The update log: an append-only, per-room sequence of Yjs updates with stable ids. It is the
 * source of truth between snapshots: an update counts as accepted once `append` resolves.
 * Implementations: Redis Streams (many nodes) and LevelDB (one node).
 */
import type { LogId } from './log-id.ts'
import type { LoggedUpdate } from './record-codec.ts'

export type { LoggedUpdate }

/** One record: a batch of updates a node accepted together, in order, under one id. */
export interface LogEntry {
  id: LogId
  /** The tag its append carried ("" when none): a node knows its own entries by it. */
  tag: string
  updates: LoggedUpdate[]
}

export interface LogListener {
  /**
   * Entries in log order, each exactly once. An entry this node appended may arrive before or
   * after its `append` resolves (Redis answers the two on different connections).
   */
  entries(room: string, entries: LogEntry[]): void
  /**
   * Entries after the subscriber's position were trimmed before it read them (it was cut off
   * from the log for longer than entries are kept). It must reload from its snapshot and call
   * `Subscription.resume` with the position it reloaded to.
   */
  gap(room: string): void
}

export type HealthListener = (up: boolean) => void

/**
 * The snapshot a writer builds on: every entry ≤ `watermark` is in it, and its pieces hold
 * `bytes`. A document's size, as the log counts it, is its snapshot's bytes plus the bytes of the
 * updates logged after the snapshot's watermark.
 */
export interface DocBase {
  watermark: LogId
  bytes: number
}

/**
 * A limit an append must keep: the document may not hold more than `maxDocBytes` after it. Each
 * node checks the limit against what it has read, but a node that reads the log late does not
 * know what others wrote meanwhile: only the log, which every append goes through, can hold it.
 * `base` is the writer's snapshot, for a log that has no count for the room yet (or an older one).
 */
export interface AppendLimit {
  maxDocBytes: number
  base: DocBase
}

export interface AppendOptions {
  /** Refuse the batch if the document would pass this limit (DocumentFullError). */
  limit?: AppendLimit
  /**
   * Stored with the entry and read back with it: the writer recognizes its own entry whether
   * the read or the append's answer reaches it first (on Redis they travel on two connections).
   */
  tag?: string
}

/**
 * The log refused an append outright (Redis answered the command with an error, as when it is
 * out of memory): nothing of it was written. Any other failure of an append leaves its outcome
 * unknown: the log may hold it.
 */
export class AppendRefusedError extends Error {
  override name = 'AppendRefusedError'
}

/** An append refused because the document would pass its size limit; nothing was logged. */
export class DocumentFullError extends Error {
  override name = 'DocumentFullError'
  /** The document's size, as the log counts it, before the refused batch. */
  readonly bytes: number

  constructor(bytes: number, limit: number) {
    super(`the document holds ${bytes} bytes; the batch would pass its limit of ${limit}`)
    this.bytes = bytes
  }
}

export interface Subscription {
  /** Continue after `position` (after a gap was handled by reloading). */
  resume(position: LogId): void
  close(): void
}

export interface UpdateLog {
  readonly kind: 'embedded' | 'redis'
  /**
   * Appends the batch as one entry; resolves with its id once it is durable. With a `limit`, a
   * batch that would make the document pass it is refused (DocumentFullError) and nothing is
   * logged; batches without one (deletions, relogging what is already held) are counted all the same.
   */
  append(room: string, updates: LoggedUpdate[], options?: AppendOptions): Promise<LogId>
  /** Entries with id > `after`, oldest first, at most `limit`. */
  read(room: string, after: LogId, limit: number): Promise<LogEntry[]>
  /**
   * The id of the newest entry ever appended to the room, trimmed or not (LOG_START when none is
   * known): how far a reader must read (or catch up, past a trim) to have all logged so far.
   */
  head(room: string): Promise<LogId>
  /**
   * Removes entries with id ≤ `upTo`. `snapshotBytes`: a snapshot covering `upTo` was stored,
   * holding that many bytes; the document's size is counted from it from now on.
   */
  trim(room: string, upTo: LogId, snapshotBytes?: number): Promise<void>
  /** Removes a room's whole log (its group was deleted). */
  deleteRoom(room: string): Promise<void>
  /** Number of entries currently held for a room. */
  size(room: string): Promise<number>
  /** Delivers entries appended after `after` by any writer, this node included. */
  subscribe(room: string, after: LogId, listener: LogListener): Subscription
  /** Rooms whose log holds entries (candidates for compaction). */
  roomsWithEntries(): Promise<string[]>
  isUp(): boolean
  onHealth(listener: HealthListener): () => void
  /**
   * The log lost what it held (a Redis without persistence restarted): entries not yet in a
   * snapshot are gone from it, though hot rooms and clients still hold them. Listeners should
   * log again what they hold beyond their snapshot. Never called for the embedded log.
   */
  onReset(listener: () => void): () => void
  close(): Promise<void>
}
