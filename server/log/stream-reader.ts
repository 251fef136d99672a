/**
 * One blocking XREAD per node over every room it follows (not one per room). A newly followed
 * room interrupts the current read (CLIENT UNBLOCK) so it is included at once.
 *
 * When a subscriber starts, and for all of them after the reader reconnects, it checks whether
 * entries the subscriber has not read may have been trimmed already (the last trim's threshold
 * lies beyond the entry after its position); such a subscriber gets `gap` and stays paused until
 * it resumes from a position it reloaded to.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { BinaryRedisClient, RedisClient } from '../cluster/redis-clients.ts'
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
  reader: RedisClient
  cmd: RedisClient
  keyOf(room: string): string
  /** Entries below this id may have been trimmed (null: never trimmed). */
  trimmedBelow(room: string): Promise<LogId | null>
  logger: Logger
  toEntry(room: string, message: StreamMessage): LogEntry
  blockMs: number
  batch: number
}

export interface StreamMessage {
  id: Buffer | string
  message: Record<string, Buffer | undefined>
}

type StreamReply = Array<{ name: Buffer | string; messages: StreamMessage[] }> | null

export class StreamReader {
  private readonly options: ReaderOptions
  private readonly binaryReader: BinaryRedisClient
  private readonly followers = new Map<string, Set<Follower>>()
  private readerId: number | null = null
  private blocked = false
  /** Some follower is unchecked (saves scanning them all on every read). */
  private checkDue = false
  private stopped = false
  private wake: (() => void) | null = null
  private readonly loopDone: Promise<void>

  constructor(options: ReaderOptions, binaryReader: BinaryRedisClient) {
    this.options = options
    this.binaryReader = binaryReader
    options.reader.on('reconnecting', () => {
      this.readerId = null
      for (const set of this.followers.values()) for (const follower of set) follower.unchecked = true
      this.checkDue = true
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

  private interrupt(): void {
    this.wake?.()
    if (this.blocked && this.readerId !== null && this.options.cmd.isReady) {
      this.options.cmd.sendCommand(['CLIENT', 'UNBLOCK', String(this.readerId)]).catch(() => undefined)
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const streams = this.streams()
      if (streams.length === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve })
        this.wake = null
        continue
      }
      if (!this.options.reader.isReady) {
        await sleep(100)
        continue
      }
      try {
        await this.readOnce(streams)
      } catch (error) {
        if (!this.stopped) this.options.logger.debug({ err: error }, 'stream read failed; retrying')
        await sleep(100)
      }
    }
  }

  private async readOnce(streams: Array<{ key: string; id: string }>): Promise<void> {
    this.readerId ??= await this.options.reader.clientId()
    if (await this.checkGaps()) return
    this.blocked = true
    let reply: StreamReply
    try {
      reply = (await this.binaryReader.xRead(streams, { BLOCK: this.options.blockMs, COUNT: this.options.batch })) as StreamReply
    } finally {
      this.blocked = false
    }
    for (const stream of reply ?? []) this.deliver(roomOfKey(String(stream.name), streams, this.options.keyOf), stream.messages)
  }

  /** Each followed room once, from the lowest position any unpaused follower of it is at. */
  private streams(): Array<{ key: string; id: string }> {
    const streams: Array<{ key: string; id: string }> = []
    for (const [room, set] of this.followers) {
      let lowest: LogId | null = null
      for (const f of set) if (!f.paused && (lowest === null || compareLogIds(f.position, lowest) < 0)) lowest = f.position
      if (lowest !== null) streams.push({ key: this.options.keyOf(room), id: lowest })
    }
    return streams
  }

  private deliver(room: string | undefined, messages: StreamMessage[]): void {
    if (room === undefined) return
    const entries = messages.map((m) => this.options.toEntry(room, m))
    for (const follower of this.followers.get(room) ?? []) {
      if (follower.paused) continue
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

  /** Checks unchecked followers; returns whether any had a gap (the stream set changed). */
  private async checkGaps(): Promise<boolean> {
    if (!this.checkDue) return false
    this.checkDue = false
    let found = false
    for (const [room, set] of this.followers) {
      const unchecked = [...set].filter((f) => f.unchecked && !f.paused)
      if (unchecked.length === 0) continue
      const trimmedBelow = await this.options.trimmedBelow(room)
      for (const follower of unchecked) {
        follower.unchecked = false
        if (trimmedBelow === null || compareLogIds(trimmedBelow, successorLogId(follower.position)) <= 0) continue
        follower.paused = true
        found = true
        follower.listener.gap(room)
      }
    }
    return found
  }
}

function roomOfKey(key: string, streams: Array<{ key: string }>, keyOf: (room: string) => string): string | undefined {
  if (!streams.some((s) => s.key === key)) return undefined
  const probe = keyOf('')
  return key.startsWith(probe) ? key.slice(probe.length) : undefined
}
