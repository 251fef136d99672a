/**
 * One blocking XREAD per node over every room it follows (not one per room). A newly followed
 * room interrupts the current read (CLIENT UNBLOCK) so it is included at once.
 *
 * When a subscriber starts, and for all of them after the reader reconnects, it checks whether
 * entries the subscriber has not read may have been trimmed already (the last trim's threshold
 * lies beyond the entry after its position); such a subscriber gets `gap` and stays paused until
 * it resumes from a position it reloaded to. A trim can also land between that check and a read,
 * or while a live reader lags: entries old enough to be trimmed (`mayBeTrimmedAfter`) are checked
 * again when a read returns after them, before they are delivered, so nothing is skipped silently.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { BackgroundFailures } from '../background-loop.ts'
import type { BlockingConnection, StreamReply } from '../cluster/redis-backend.ts'
import { RedisTimeoutError, withDeadline } from '../cluster/redis-clients.ts'
import type { Logger } from '../logger.ts'
import { compareLogIds, successorLogId, type LogId } from './log-id.ts'
import type { LogEntry, LogListener, Subscription } from './types.ts'

interface Follower {
  room: string
  position: LogId
  listener: LogListener
  paused: boolean
  /** Has not yet been checked for entries trimmed before it read them. */
  unchecked: boolean
}

export interface ReaderOptions {
  /** The connection this reader blocks on (its own: nothing else may wait behind an XREAD). */
  connection: BlockingConnection
  keyOf(room: string): string
  /** Entries below this id may have been trimmed (null: never trimmed). */
  trimmedBelow(room: string): Promise<LogId | null>
  /** Whether entries after `position` may be old enough for a trim (the log's minimum entry age). */
  mayBeTrimmedAfter(position: LogId): boolean
  logger: Logger
  toEntry(room: string, message: StreamMessage): LogEntry
  /** Longest XREAD block; also how often an idle reader PINGs its connection. */
  blockMs: number
  /** How long past its block a read (or a PING) may go unanswered before the connection counts as silent. */
  timeoutMs: number
  batch: number
  /** Told after each read or PING whether the reader's connection answered in time. */
  reportHealth(answering: boolean): void
  failures: BackgroundFailures
}

/** Waits after failed reads: 100 ms, doubling, up to this. */
const MAX_RETRY_MS = 2_000

export interface StreamMessage {
  id: Buffer | string
  message: Record<string, Buffer | undefined>
}

/** CLIENT UNBLOCK retries while a just-sent read has not reached Redis yet. */
const UNBLOCK_ATTEMPTS = 20
const UNBLOCK_RETRY_MS = 5

export class StreamReader {
  private readonly options: ReaderOptions
  private readonly connection: BlockingConnection
  private readonly followers = new Map<string, Set<Follower>>()
  private readerId: number | null = null
  private blocked = false
  /** Counts reads sent, so a late unblock retry never interrupts a later read. */
  private readSeq = 0
  /** Some follower is unchecked (saves scanning them all on every read). */
  private checkDue = false
  private stopped = false
  private wake: (() => void) | null = null
  private readonly loopDone: Promise<void>
  private failuresInARow = 0

  constructor(options: ReaderOptions) {
    this.options = options
    this.connection = options.connection
    this.connection.onReconnecting(() => {
      this.readerId = null
      this.recheckAll()
    })
    this.loopDone = this.loop()
  }

  follow(room: string, after: LogId, listener: LogListener): Subscription {
    const follower: Follower = { room, position: after, listener, paused: false, unchecked: true }
    const set = this.followers.get(room) ?? new Set<Follower>()
    set.add(follower)
    this.followers.set(room, set)
    this.checkDue = true
    this.interrupt()
    return {
      resume: (position) => {
        follower.position = position
        follower.paused = false
        follower.unchecked = true
        this.checkDue = true
        this.interrupt()
      },
      close: () => {
        set.delete(follower)
        if (set.size === 0 && this.followers.get(room) === set) this.followers.delete(room)
      },
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.interrupt()
    await this.loopDone
  }

  /**
   * Makes the loop pick up a changed set of followers now. A read not yet sent takes the set as
   * it is when it is sent; one already sent is unblocked, retrying while Redis has not started
   * blocking it yet (CLIENT UNBLOCK answers 0 then).
   */
  private interrupt(): void {
    this.wake?.()
    if (this.blocked) void this.unblock(this.readSeq, UNBLOCK_ATTEMPTS)
  }

  private async unblock(readSeq: number, attempts: number): Promise<void> {
    if (!this.blocked || this.readSeq !== readSeq || this.readerId === null) return
    const unblocked = await this.connection.unblock(this.readerId).catch(() => 0)
    if (unblocked === 0 && attempts > 1) {
      await sleep(UNBLOCK_RETRY_MS)
      await this.unblock(readSeq, attempts - 1)
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.hasWork()) {
        await this.idle()
        continue
      }
      if (!this.connection.isReady) {
        await sleep(100)
        continue
      }
      try {
        await this.readOnce()
        this.failuresInARow = 0
      } catch (error) {
        if (!this.stopped) await this.failed(error)
      }
    }
  }

  /** Nothing to read: wait to be woken, PINGing the connection meanwhile so its silence shows. */
  private async idle(): Promise<void> {
    const woken = new Promise<void>((resolve) => { this.wake = resolve })
    const timer = setTimeout(() => this.wake?.(), this.options.blockMs)
    await woken
    clearTimeout(timer)
    this.wake = null
    if (this.stopped || this.hasWork() || !this.connection.isReady) return
    try {
      await withDeadline(this.connection.ping(), this.options.timeoutMs, 'PING on reader')
      this.options.reportHealth(true)
    } catch (error) {
      await this.failed(error)
    }
  }

  /** Entries may have been trimmed while we could not read: check every follower again. */
  private recheckAll(): void {
    for (const set of this.followers.values()) for (const follower of set) follower.unchecked = true
    this.checkDue = true
  }

  /**
   * After a read or PING went unanswered: the commands sent stay queued on the connection, so
   * send nothing more until one PING comes back (else a healed connection would first work
   * through every XREAD queued meanwhile, each blocking up to `blockMs`). The connection never
   * closed, but we were as cut off as after a reconnect: entries we had not read may have been
   * trimmed meanwhile, so every follower is checked for a gap before reading on.
   */
  private async awaitAnswer(): Promise<void> {
    this.recheckAll()
    let answered = false
    const pong = this.connection.ping().then(() => { answered = true }, () => { answered = true })
    while (!answered && !this.stopped && this.connection.isReady) {
      await Promise.race([pong, sleep(this.options.blockMs)])
    }
  }

  /**
   * A read or PING failed (or outlasted its timeout: the connection may be silent). Counted,
   * logged at the 1st, 2nd, 4th… failure in a row, and retried after a growing pause.
   */
  private async failed(error: unknown): Promise<void> {
    this.failuresInARow++
    this.options.reportHealth(false)
    this.options.failures.record('stream-reader')
    if ((this.failuresInARow & (this.failuresInARow - 1)) === 0) {
      this.options.logger.warn({ err: error, failures: this.failuresInARow }, 'stream read failed; retrying')
    }
    if (error instanceof RedisTimeoutError) await this.awaitAnswer()
    else await sleep(Math.min(MAX_RETRY_MS, 100 * 2 ** (this.failuresInARow - 1)))
  }

  private async readOnce(): Promise<void> {
    this.readerId ??= await withDeadline(this.connection.clientId(), this.options.timeoutMs, 'CLIENT ID')
    if (await this.checkGaps()) return
    if (this.checkDue) return // a follower came while we checked: check it before reading
    // Followers may have come or gone while we awaited: read the set as it is now.
    const streams = this.streams()
    if (streams.length === 0) return
    this.blocked = true
    this.readSeq++
    let reply: StreamReply
    try {
      const read = this.connection.xRead(streams, { BLOCK: this.options.blockMs, COUNT: this.options.batch })
      reply = await withDeadline(read, this.options.blockMs + this.options.timeoutMs, 'XREAD')
    } finally {
      this.blocked = false
    }
    this.options.reportHealth(true)
    const roomOf = new Map(streams.map(({ key, room }) => [key, room]))
    const replies = (reply ?? []).map((stream) => ({ room: roomOf.get(String(stream.name)), messages: stream.messages }))
    await Promise.all(replies.map(({ room }) => (room === undefined ? undefined : this.checkTrimmedBeforeRead(room))))
    for (const { room, messages } of replies) this.deliver(room, messages)
  }

  /**
   * Followers of `room` that a trim may have passed since their position (old enough entries
   * after it, trimmed between the last check and this read) are checked now: one that lost
   * entries gets `gap` instead of what the read returned.
   */
  private async checkTrimmedBeforeRead(room: string): Promise<void> {
    const exposed = [...this.followers.get(room) ?? []].filter((f) => readable(f) && this.options.mayBeTrimmedAfter(f.position))
    if (exposed.length === 0) return
    const trimmedBelow = await this.options.trimmedBelow(room)
    for (const follower of exposed) this.pauseIfTrimmed(follower, trimmedBelow)
  }

  /** Pauses the follower with `gap` if entries after its position were trimmed; true if so. */
  private pauseIfTrimmed(follower: Follower, trimmedBelow: LogId | null): boolean {
    if (trimmedBelow === null || compareLogIds(trimmedBelow, successorLogId(follower.position)) <= 0) return false
    follower.paused = true
    follower.listener.gap(follower.room)
    return true
  }

  /** Some follower is not waiting for a reload. */
  private hasWork(): boolean {
    for (const set of this.followers.values()) for (const f of set) if (!f.paused) return true
    return false
  }

  /** Each followed room once, from the lowest position any unpaused follower of it is at. */
  private streams(): Array<{ key: string; id: string; room: string }> {
    const streams: Array<{ key: string; id: string; room: string }> = []
    for (const [room, set] of this.followers) {
      let lowest: LogId | null = null
      for (const f of set) if (readable(f) && (lowest === null || compareLogIds(f.position, lowest) < 0)) lowest = f.position
      if (lowest !== null) streams.push({ key: this.options.keyOf(room), id: lowest, room })
    }
    return streams
  }

  private deliver(room: string | undefined, messages: StreamMessage[]): void {
    if (room === undefined) return
    const entries = messages.map((m) => this.options.toEntry(room, m))
    for (const follower of this.followers.get(room) ?? []) {
      if (!readable(follower)) continue
      const fresh = entries.filter((e) => compareLogIds(e.id, follower.position) > 0)
      if (fresh.length === 0) continue
      follower.position = (fresh.at(-1) as LogEntry).id
      try {
        follower.listener.entries(room, fresh)
      } catch (error) {
        this.options.logger.error({ err: error, room }, 'a log subscriber failed')
      }
    }
  }

  /**
   * Checks unchecked followers; returns whether any had a gap (the stream set changed). A
   * follower stays unchecked, and the check due, until its room's threshold was read: if that
   * fails, the next round checks again before anything is read for it.
   */
  private async checkGaps(): Promise<boolean> {
    if (!this.checkDue) return false
    this.checkDue = false
    try {
      return await this.checkUnchecked()
    } catch (error) {
      this.checkDue = true
      throw error
    }
  }

  private async checkUnchecked(): Promise<boolean> {
    let found = false
    for (const [room, set] of this.followers) {
      const unchecked = [...set].filter((f) => f.unchecked && !f.paused)
      if (unchecked.length === 0) continue
      const trimmedBelow = await this.options.trimmedBelow(room)
      for (const follower of unchecked) {
        follower.unchecked = false
        if (this.pauseIfTrimmed(follower, trimmedBelow)) found = true
      }
    }
    return found
  }
}

/** Not waiting for a reload, and checked for trimmed entries since it (re)started. */
function readable(follower: Follower): boolean {
  return !follower.paused && !follower.unchecked
}
