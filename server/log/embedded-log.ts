/**
 * The update log for a single node, in LevelDB under DATA_DIR/log.
 * Key `<room>!<sortable id>` → update bytes. Appends of one call are one atomic batch
 * (fsync'd when EMBEDDED_FSYNC is on); subscribers hear about them after `append` resolves.
 *
 * Group commit: at most one write is in flight; appends from any room that arrive meanwhile go
 * into the next write together. A write starts at the end of the current event-loop turn
 * (setImmediate), so frames from many sockets read in one poll share it, and no sooner than
 * COMMIT_INTERVAL_MS after the last write started, whether writes follow each other or an append
 * comes in just after one ended. Each LevelDB write costs ~40-80 µs of CPU whatever its size:
 * without the spacing, edits spread evenly over time (2,000 a second from 20 rooms) never met in
 * a write and a node spent a third of its main thread in LevelDB; with it, a node writes at most
 * ~1,000 times a second, an edit waits at most COMMIT_INTERVAL_MS more, and an append to a log
 * that wrote nothing for that long is written at once.
 *
 * Document sizes (for appends with a limit) are counted in memory: this process is the log's only
 * writer, so the bytes of the entries it holds, kept from open on, and the writer's snapshot are
 * all it takes.
 */
import { openLevel, prefixRange, type LevelDb } from '../storage/embedded/level.ts'
import { LOG_START, LogIdClock, compareLogIds, fromSortableLogId, sortableLogId, type LogId } from './log-id.ts'
import type { Logger } from '../logger.ts'
import { decodeRecordOrReport, encodeRecord, recordBytes, type LogRecord } from './record-codec.ts'
import { DocumentFullError, type AppendOptions, type DocBase, type HealthListener, type LogEntry, type LoggedUpdate, type LogListener, type Subscription, type UpdateLog } from './types.ts'

const SEPARATOR = '!'
/** Writes under load start at most this often (a quiet log writes at once). */
const COMMIT_INTERVAL_MS = 1

interface PendingAppend {
  room: string
  entry: LogEntry
  resolve(): void
  reject(error: unknown): void
}

export interface EmbeddedLogOptions {
  fsync: boolean
  logger?: Logger
}

export class EmbeddedLog implements UpdateLog {
  readonly kind = 'embedded' as const
  private readonly clock = new LogIdClock()
  private readonly listeners = new Map<string, Set<LogListener>>()
  private pending: PendingAppend[] = []
  private writing = false
  /** When the last write started (performance.now()): the next starts COMMIT_INTERVAL_MS after it at the soonest. */
  private lastWriteAt = Number.NEGATIVE_INFINITY
  /** Per room, each held entry's update bytes, in id order. */
  private readonly entryBytes = new Map<string, Array<{ id: LogId; bytes: number }>>()
  /** The newest id of rooms whose entries were all trimmed (their head; kept while this process runs). */
  private readonly trimmedUpTo = new Map<string, LogId>()
  /** Per room, the document's size counted from a snapshot (`base`) on. */
  private readonly sizes = new Map<string, { base: LogId; bytes: number }>()

  private readonly db: LevelDb
  private readonly fsync: boolean
  private readonly logger: Logger | undefined

  private constructor(db: LevelDb, options: EmbeddedLogOptions) {
    this.db = db
    this.fsync = options.fsync
    this.logger = options.logger
  }

  static async open(location: string, options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const log = new EmbeddedLog(await openLevel(location), options)
    await log.restoreClock()
    return log
  }

  /** Ids must keep increasing across restarts even if the wall clock went back; entries' sizes are counted again. */
  private async restoreClock(): Promise<void> {
    for await (const [key, value] of this.db.iterator()) {
      const room = key.slice(0, key.indexOf(SEPARATOR))
      const id = fromSortableLogId(key.slice(room.length + 1))
      this.clock.observe(id)
      this.countEntry(room, id, recordBytes(this.decode(room, value).updates))
    }
  }

  async append(room: string, updates: LoggedUpdate[], { limit, tag = '' }: AppendOptions = {}): Promise<LogId> {
    const bytes = recordBytes(updates)
    if (limit) {
      const size = this.sizeFrom(room, limit.base)
      if (size + bytes > limit.maxDocBytes) throw new DocumentFullError(size, limit.maxDocBytes)
    }
    const entry: LogEntry = { id: this.clock.next(), tag, updates }
    this.countEntry(room, entry.id, bytes) // counted now: the next append may come before this one is written
    try {
      await new Promise<void>((resolve, reject) => {
        this.pending.push({ room, entry, resolve, reject })
        if (!this.writing) {
          this.writing = true
          const wait = this.lastWriteAt + COMMIT_INTERVAL_MS - performance.now()
          if (wait > 0) setTimeout(() => void this.writePending(), wait)
          else setImmediate(() => void this.writePending())
        }
      })
    } catch (error) {
      this.uncountEntry(room, entry.id, bytes)
      throw error
    }
    return entry.id
  }

  /** The document's size: counted from `base`, unless already counted from a newer snapshot. */
  private sizeFrom(room: string, base: DocBase): number {
    const counted = this.sizes.get(room)
    if (counted && compareLogIds(base.watermark, counted.base) <= 0) return counted.bytes
    // Entries are held in id order, and a base is near the newest of them: walk back to it.
    const entries = this.entryBytes.get(room) ?? []
    let bytes = base.bytes
    for (let i = entries.length - 1; i >= 0 && compareLogIds(entries[i]!.id, base.watermark) > 0; i--) bytes += entries[i]!.bytes
    this.sizes.set(room, { base: base.watermark, bytes })
    return bytes
  }

  private countEntry(room: string, id: LogId, bytes: number): void {
    const entries = this.entryBytes.get(room) ?? []
    entries.push({ id, bytes })
    this.entryBytes.set(room, entries)
    const counted = this.sizes.get(room)
    if (counted) counted.bytes += bytes
  }

  private uncountEntry(room: string, id: LogId, bytes: number): void {
    const entries = this.entryBytes.get(room)
    const at = entries?.findIndex((e) => e.id === id) ?? -1
    if (at >= 0) entries!.splice(at, 1)
    const counted = this.sizes.get(room)
    if (counted) counted.bytes -= bytes
  }

  /** Writes everything pending as one batch, then whatever arrived meanwhile, and so on. */
  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const started = performance.now()
      this.lastWriteAt = started
      const group = this.pending
      this.pending = []
      const ops = group.map(({ room, entry }) => ({ type: 'put' as const, key: this.key(room, entry.id), value: encodeRecord(entry) }))
      try {
        await this.db.batch(ops, { sync: this.fsync })
      } catch (error) {
        for (const append of group) append.reject(error)
        continue
      }
      for (const append of group) append.resolve()
      setImmediate(() => {
        for (const { room, entry } of group) this.deliver(room, [entry])
      })
      const wait = COMMIT_INTERVAL_MS - (performance.now() - started)
      if (this.pending.length > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
    this.writing = false
  }

  private deliver(room: string, entries: LogEntry[]): void {
    for (const listener of this.listeners.get(room) ?? []) listener.entries(room, entries)
  }

  async read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    const entries: LogEntry[] = []
    const range = { gt: this.key(room, after), lt: `${room}${SEPARATOR}\xff`, limit }
    for await (const [key, value] of this.db.iterator(range)) {
      entries.push({ id: fromSortableLogId(key.slice(room.length + 1)), ...this.decode(room, value) })
    }
    return entries
  }

  async head(room: string): Promise<LogId> {
    return this.entryBytes.get(room)?.at(-1)?.id ?? this.trimmedUpTo.get(room) ?? LOG_START
  }

  async trim(room: string, upTo: LogId, snapshotBytes?: number): Promise<void> {
    await this.db.clear({ gt: `${room}${SEPARATOR}`, lte: this.key(room, upTo) })
    if (snapshotBytes !== undefined) this.sizeFrom(room, { watermark: upTo, bytes: snapshotBytes })
    const kept = this.entryBytes.get(room)?.filter((e) => compareLogIds(e.id, upTo) > 0) ?? []
    const newest = this.entryBytes.get(room)?.at(-1)?.id
    if (newest !== undefined && kept.length === 0) this.trimmedUpTo.set(room, newest) // the head stays where it was
    if (kept.length > 0) this.entryBytes.set(room, kept)
    else this.entryBytes.delete(room)
  }

  async deleteRoom(room: string): Promise<void> {
    await this.db.clear(prefixRange(`${room}${SEPARATOR}`))
    this.entryBytes.delete(room)
    this.trimmedUpTo.delete(room)
    this.sizes.delete(room)
  }

  async size(room: string): Promise<number> {
    let count = 0
    for await (const _ of this.db.keys(prefixRange(`${room}${SEPARATOR}`))) count++
    return count
  }

  subscribe(room: string, _after: LogId, listener: LogListener): Subscription {
    // One process owns this log, and rooms subscribe before they accept writes, so there is
    // nothing between `after` and now to replay.
    const set = this.listeners.get(room) ?? new Set<LogListener>()
    set.add(listener)
    this.listeners.set(room, set)
    return {
      resume: () => {},
      close: () => {
        set.delete(listener)
        if (set.size === 0 && this.listeners.get(room) === set) this.listeners.delete(room)
      },
    }
  }

  async roomsWithEntries(): Promise<string[]> {
    const rooms: string[] = []
    const iterator = this.db.keys()
    try {
      for (let key = await iterator.next(); key !== undefined; key = await iterator.next()) {
        const room = key.slice(0, key.indexOf(SEPARATOR))
        rooms.push(room)
        iterator.seek(`${room}${SEPARATOR}\xff`)
      }
    } finally {
      await iterator.close()
    }
    return rooms
  }

  isUp(): boolean {
    return this.db.status === 'open'
  }

  onReset(_listener: () => void): () => void {
    return () => {}
  }

  onHealth(_listener: HealthListener): () => void {
    return () => {}
  }

  async close(): Promise<void> {
    this.listeners.clear()
    await this.db.close()
  }

  private decode(room: string, value: Uint8Array): LogRecord {
    return decodeRecordOrReport(value, (error) => this.logger?.error({ err: error, room }, 'skipping a damaged log record'))
  }

  private key(room: string, id: LogId): string {
    return `${room}${SEPARATOR}${sortableLogId(id)}`
  }
}
