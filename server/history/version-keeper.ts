/**
 * Keeps a document's history, fed by compaction (never the hot path): before a snapshot is
 * saved, who changed what (edit records); after, the snapshot itself as an automatic version when
 * the last version is older than VERSION_INTERVAL_MS, then the retention rule thins the older
 * automatic versions. Named versions (and the state before a restore) are kept on request.
 *
 * A version's state is a whole snapshot (Yjs garbage-collects deleted content, so only a full
 * state can bring it back), stored as the snapshot codec writes it; a version whose state equals
 * the one before it (same SHA-256) stores none and shares that one's (`sameAs`), so naming an
 * unchanged document again costs a record, not a copy.
 */
import { newId } from '../../shared/ids.ts'
import type { Logger } from '../logger.ts'
import type { EditStore, SnapshotStore, VersionMade, VersionRecord, VersionStore } from '../storage/types.ts'
import type { LogId } from '../log/log-id.ts'
import { editRecords, notRecorded, type TimedUpdate } from './edit-records.ts'
import { versionsToDrop, type Retention } from './retention.ts'

export interface VersionKeeperDeps {
  versions: VersionStore
  edits: EditStore
  /** Where the latest snapshot is read from when a version falls due after the last compaction. */
  snapshots: SnapshotStore
  intervalMs: number
  retention: Retention
  logger: Logger
  now?(): number
}

export class VersionKeeper {
  private readonly deps: VersionKeeperDeps
  /** Rooms that changed since their last version, too soon for another: when one falls due. */
  private readonly due = new Map<string, NodeJS.Timeout>()

  constructor(deps: VersionKeeperDeps) {
    this.deps = deps
  }

  /**
   * Before the snapshot holding these updates is saved (if this fails, so does the compaction).
   * `upTo`: the fold holds every log entry up to it; what a fold before it recorded up to its own
   * mark (its snapshot then failed to save, here or on another node) is not recorded again.
   */
  async recordEdits(room: string, updates: readonly TimedUpdate[], ownerOf?: (client: number) => string | undefined, upTo?: LogId): Promise<void> {
    const fresh = upTo === undefined ? updates : notRecorded(updates, await this.deps.edits.recordedUpTo(room))
    const records = editRecords(room, fresh, ownerOf)
    if (records.length > 0) await this.deps.edits.append(records, upTo)
  }

  /**
   * After a snapshot was saved: keeps it as a version if the last one is old enough; otherwise the
   * latest snapshot becomes a version when the interval has passed (unless a later compaction
   * does it first). Never throws.
   */
  async afterSnapshot(room: string, state: Uint8Array): Promise<void> {
    try {
      const [latest] = await this.deps.versions.list(room, { limit: 1 })
      const wait = latest ? latest.createdAt + this.deps.intervalMs - this.now() : 0
      if (wait > 0) return this.arm(room, wait)
      this.disarm(room)
      await this.keep(room, state, null)
      await this.thin(room)
    } catch (error) {
      this.deps.logger.warn({ err: error, room }, 'could not keep a version; the next compaction tries again')
    }
  }

  /** Stops the timers (shutdown); what they would have kept, the next compaction keeps. */
  close(): void {
    for (const timer of this.due.values()) clearTimeout(timer)
    this.due.clear()
  }

  private arm(room: string, wait: number): void {
    if (this.due.has(room)) return
    const timer = setTimeout(() => void this.fallDue(room), wait)
    timer.unref()
    this.due.set(room, timer)
  }

  private disarm(room: string): void {
    clearTimeout(this.due.get(room))
    this.due.delete(room)
  }

  private async fallDue(room: string): Promise<void> {
    this.due.delete(room)
    try {
      const snapshot = await this.deps.snapshots.load(room)
      if (snapshot) await this.afterSnapshot(room, snapshot.update)
    } catch (error) {
      this.deps.logger.warn({ err: error, room }, 'could not keep a version; the next compaction tries again')
    }
  }

  /**
   * Keeps `state` as a version now (named, or automatic with `name` null). `alsoBy`: writers of
   * edits it holds that no edit record has yet (not compacted yet).
   */
  async keep(room: string, state: Uint8Array, name: string | null, alsoBy: string[] = [], made?: VersionMade): Promise<VersionRecord> {
    const [latest] = await this.deps.versions.list(room, { limit: 1 })
    const createdAt = Math.max(this.now(), (latest?.createdAt ?? 0) + 1) // strictly newest
    const since = latest ? latest.createdAt + 1 : 0 // edits up to a version's time belong to it
    const authors = [...new Set([...await this.authorsSince(room, since), ...alsoBy])]
    const hash = await sha256(state)
    // Unchanged since the last version (named again, restored twice): its bytes are shared, not copied.
    const sameAs = latest?.hash === hash ? latest.sameAs ?? latest.id : undefined
    const record: VersionRecord = { id: newId(), room, createdAt, name, authors, bytes: state.length, hash, ...(sameAs !== undefined && { sameAs }), ...(made && { made }) }
    await this.deps.versions.create(record, state)
    return record
  }

  /** The room's group is gone: its history goes too. */
  async forget(room: string): Promise<void> {
    this.disarm(room)
    await this.deps.versions.deleteRoom(room)
    await this.deps.edits.deleteRoom(room)
  }

  /** Users who edited the room since `since` (from edit records). */
  async authorsSince(room: string, since: number): Promise<string[]> {
    const records = await this.deps.edits.list(room, { since })
    return [...new Set(records.map((r) => r.user))]
  }

  private async thin(room: string): Promise<void> {
    const all = await this.deps.versions.all(room)
    const drop = versionsToDrop(all, this.now(), this.deps.retention)
    if (drop.length > 0) await this.deps.versions.delete(room, drop)
    // Edits older than every version, and older than versions are kept at all, are no use to
    // rollbacks or diffs any more (a rollback also undoes additions, which need no version).
    const oldest = all.filter((v) => !drop.includes(v.id)).reduce((min, v) => Math.min(min, v.createdAt), Infinity)
    const horizon = Math.min(oldest, this.now() - this.deps.retention.hourlyFor)
    if (Number.isFinite(oldest)) await this.deps.edits.prune(room, horizon)
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now()
  }
}

/** SHA-256 in the thread pool (WebCrypto): a 10 MiB state hashes without stalling the event loop. */
async function sha256(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)).toString('base64url')
}
