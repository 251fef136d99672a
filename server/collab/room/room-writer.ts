/**
 * The durable write path of one room: updates queue here and go to the log in batches (one entry
 * per batch, so a busy room costs one round trip per batch, not per update), one batch at a time
 * so a room's own entries keep their order. Each batch is appended under a tag the room core
 * gives it, and the core keeps and relays it once the log holds it (room-core.ts). Nothing is
 * ever broadcast, or served to a new client, before it is durable.
 */
import type { LogId } from '../../log/log-id.ts'
import type { AppendLimit, UpdateLog } from '../../log/types.ts'
import type { Connection } from '../wire/connection.ts'
import type { SERVER } from './origins.ts'
import type { UpdateInfo } from '../sync/update-info.ts'
import type { Accepted } from './doc-bytes.ts'

export interface PendingWrite {
  update: Uint8Array
  info: UpdateInfo
  /** The user the update is attributed to. */
  writer: string
  origin: Connection | typeof SERVER
  /** Already kept by the room; only the log lost it (written again after the log was reset). */
  relog?: boolean
  /** The kept update it writes again, which takes the new entry's id as its place in the log. */
  relogOf?: Accepted
  /** Adds content: its batch is logged only within the document's size limit. */
  bounded?: boolean
  /** Server writes wait for the log; client writes do not. */
  settle?: (error?: unknown) => void
}

export interface WriterHooks {
  /** The batch is about to be appended: the tag to append it under. */
  sending(batch: PendingWrite[]): string
  /** The log holds the batch tagged `tag` as entry `id`. */
  appended(tag: string, id: LogId): void
  /**
   * The append of the batch tagged `tag` failed (DocumentFullError: the log refused it, the
   * document would pass its size limit with content this node had not read yet). `behind` was
   * queued after it, perhaps building on it, and was never sent.
   */
  failed(tag: string, batch: PendingWrite[], behind: PendingWrite[], error: unknown): void
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

  /**
   * Whether a write of `bytes` would be queued now: the log is up and the queue has room (an
   * empty queue takes any one write, so nothing is too big to ever be written).
   */
  accepts(bytes: number): boolean {
    return this.log.isUp() && (this.queuedBytes === 0 || this.queuedBytes + bytes <= this.maxQueuedBytes)
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
    const tag = this.hooks.sending(batch)
    let id: LogId
    try {
      const limit = batch.some((w) => w.bounded) ? this.limit() : undefined
      id = await this.log.append(this.room, batch.map(({ writer, update }) => ({ writer, update })), { tag, ...(limit && { limit }) })
    } catch (error) {
      // Whatever was queued behind the batch may build on it (the next points of a stroke it
      // starts): logging that without the batch would leave the log with holes. All of it fails;
      // sockets resend everything at once when the log is back.
      const behind = this.queue
      this.queue = []
      this.queuedBytes = 0
      this.committing = []
      this.committingBytes = 0
      this.hooks.failed(tag, batch, behind, error)
      return
    }
    this.hooks.appended(tag, id)
  }
}
