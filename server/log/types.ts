/**
 * The update log: an append-only, per-room sequence of Yjs updates with stable ids. It is the
 * source of truth between snapshots: an update counts as accepted once `append` resolves.
 * Implementations: Redis Streams (many nodes) and LevelDB (one node).
 */
import type { LogId } from './log-id.ts'

export interface LogEntry {
  id: LogId
  update: Uint8Array
}

export type LogListener = (room: string, entries: LogEntry[]) => void

export type HealthListener = (up: boolean) => void

export interface Subscription {
  close(): void
}

export interface UpdateLog {
  readonly kind: 'embedded' | 'redis'
  /** Appends in order; resolves with the entries' ids once they are durable. */
  append(room: string, updates: Uint8Array[]): Promise<LogId[]>
  /** Entries with id > `after`, oldest first, at most `limit`. */
  read(room: string, after: LogId, limit: number): Promise<LogEntry[]>
  /** Removes entries with id ≤ `upTo`. */
  trim(room: string, upTo: LogId): Promise<void>
  /** Removes a room's whole log (its group was deleted). */
  deleteRoom(room: string): Promise<void>
  /** Number of entries currently held for a room. */
  size(room: string): Promise<number>
  /**
   * Delivers, in log order, entries appended after `after` by any writer (this node included),
   * each delivery after the matching `append` has resolved.
   */
  subscribe(room: string, after: LogId, listener: LogListener): Subscription
  /** Rooms whose log holds entries (candidates for compaction). */
  roomsWithEntries(): Promise<string[]>
  isUp(): boolean
  onHealth(listener: HealthListener): () => void
  close(): Promise<void>
}
