/**
 * The durable write path of one room: updates queue here, go to the log in batches (one entry
 * per batch, so a busy room costs one round trip per batch, not per update), and only once the
 * log holds them does the room keep and broadcast them. Nothing is ever broadcast, or served to
 * a new client, before it is durable.
 */
import type { LogId } from '../log/log-id.ts'
import { DocumentFullError, type AppendLimit, type UpdateLog } from '../log/types.ts'
import type { Connection } from './connection.ts'
import type { SERVER } from './origins.ts'
import type { UpdateInfo } from './update-info.ts'

export interface PendingWrite {
  update: Uint8Array
  info: UpdateInfo
  /** The user the update is attributed to. */
  writer: string
  origin: Connection | typeof SERVER
  /** Already kept by the room; only the log lost it (written again after the log was reset). */
  relog?: boolean
  /** Adds content: its batch is logged only within the document's size limit. */
  bounded?: boolean
  /** Server writes wait for the log; client writes do not. */
  settle?: (error?: unknown) => void
}

export interface WriterHooks {
  /** The batch is durable as the entry `id`; apply and broadcast it. */
  committed(batch: PendingWrite[], id: LogId): void
  /** The batch, and everything queued behind it, could not be logged; nothing of it was kept. */
  failed(batch: PendingWrite[], error: unknown): void
  /**
   * The log refused the batch: the document would pass its size limit (content written on other
   * nodes that this one had not read yet). Nothing of it, or of `behind` (queued after it, and
   * perhaps building on it), was kept.
   */
  full(batch: PendingWrite[], behind: PendingWrite[], error: DocumentFullError): void
}

export class RoomWriter {
  private queue: PendingWrite[] = []
  private committing: PendingWrite[] = []
  private queuedBytes = 0
  private committingBytes = 0
  private flushing: Promise<void> | null = null
  private readonly room: string
  private readonly log: UpdateLog
  private readonly hooks: WriterHooks
  private readonly maxQueuedBytes: number
  private readonly limit: () => AppendLimit

  constructor(
    room: string,
    log: UpdateLog,
    hooks: WriterHooks,
    maxQueuedBytes: number,
    limit: () => AppendLimit,
  ) {
    this.room = room
    this.log = log
    this.hooks = hooks
    this.maxQueuedBytes = maxQueuedBytes
    this.limit = limit
  }

  /** Whether a write of `bytes` would be queued now (the log is up and the queue has room). */
  accepts(bytes: number): boolean {
    return this.log.isUp() && this.queuedBytes + bytes <= this.maxQueuedBytes
  }

  /** Bytes of writes queued or being logged: the room will hold them once they are durable. */
  get pendingBytes(): number {
    return this.queuedBytes + this.committingBytes
  }

  /** Writes queued or being logged, in order. */
  inFlight(): PendingWrite[] {
    return [...this.committing, ...this.queue]
  }

  /** Queues a write; false when refused (log down or queue full), in which case nothing happens. */
  enqueue(write: PendingWrite): boolean {
    if (!this.accepts(write.update.length)) return false
    this.queue.push(write)
    this.queuedBytes += write.update.length
    this.flushing ??= this.flush()
    return true
  }

  /** Nothing queued or in flight. */
  get idle(): boolean {
    return this.flushing === null && this.queue.length === 0
  }

  /** Resolves once everything queued so far has been logged (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      this.committingBytes = this.queuedBytes
      this.queuedBytes = 0
      this.committing = batch
      await this.commit(batch)
      this.committing = []
      this.committingBytes = 0
    }
    this.flushing = null
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    let id: LogId
    try {
      const limit = batch.some((w) => w.bounded) ? this.limit() : undefined
      id = await this.log.append(this.room, batch.map(({ writer, update }) => ({ writer, update })), limit)
    } catch (error) {
      // Whatever was queued behind the batch may build on it (the next points of a stroke it
      // starts): logging that without the batch would leave the log with holes. All of it fails;
      // sockets resend everything at once when the log is back.
      const behind = this.queue
      this.queue = []
      this.queuedBytes = 0
      this.committing = []
      this.committingBytes = 0
      if (error instanceof DocumentFullError) this.hooks.full(batch, behind, error)
      else this.hooks.failed([...batch, ...behind], error)
      return
    }
    this.hooks.committed(batch, id)
  }
}
