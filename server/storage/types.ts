/**
 * Storage behind one interface, two implementations: LevelDB (embedded, one node) and MongoDB.
 * Both pass the same conformance suite (test/storage/conformance.ts).
 */
import type { LogId } from '../log/log-id.ts'

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

export interface Storage {
  readonly kind: 'embedded' | 'mongodb'
  readonly snapshots: SnapshotStore
  /** Resolves when the backing store answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}
