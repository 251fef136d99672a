/**
 * The update log on Redis Streams, one stream per room (the y-redis architecture, written here).
 * A batch of updates is one MULTI (XADD each + mark the room as having entries), so it lands
 * whole or not at all. Entries are trimmed after compaction, but never before they are
 * REDIS_MIN_ENTRY_AGE_MS old, so a node that fell briefly behind still finds what it missed;
 * each trim also records its threshold, which is how a reader that fell further behind knows
 * it has a gap (Redis does not track ids removed by XTRIM).
 */
import type { BackgroundFailures } from '../background-loop.ts'
import type { RedisClients } from '../cluster/redis-clients.ts'
import type { Logger } from '../logger.ts'
import { compareLogIds, formatLogId, successorLogId, type LogId } from './log-id.ts'
import { decodeRecordOrReport, encodeRecord } from './record-codec.ts'
import { StreamReader, type StreamMessage } from './stream-reader.ts'
import type { HealthListener, LogEntry, LoggedUpdate, LogListener, Subscription, UpdateLog } from './types.ts'

export interface RedisLogOptions {
  prefix: string
  minEntryAgeMs: number
  logger: Logger
  failures?: BackgroundFailures
}

/** Removes a room from the set of rooms with entries only if its stream is (still) empty. */
const FORGET_IF_EMPTY = `if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`

/**
 * One batch, whole or not at all: XADD + mark the room as having entries. A script rather than
 * MULTI because scripts are plain commands, which time out (MULTI in @redis/client does not).
 */
const APPEND = `local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1]) redis.call('SADD', KEYS[2], ARGV[2]) return id`
/** Trim and record the threshold together (a reader compares its position with it). */
const TRIM = `redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) return 1`

const READ_BATCH = 1_000

export class RedisLog implements UpdateLog {
  readonly kind = 'redis' as const
  private readonly clients: RedisClients
  private readonly options: RedisLogOptions
  private readonly reader: StreamReader
  private readonly roomsKey: string
  /** Set once per Redis lifetime; a Redis that comes back without it lost our entries. */
  private readonly epochKey: string
  private epoch: string | null = null
  private readonly resetListeners = new Set<() => void>()

  constructor(clients: RedisClients, options: RedisLogOptions) {
    this.clients = clients
    this.options = options
    this.roomsKey = `${options.prefix}rooms`
    this.epochKey = `${options.prefix}epoch`
    clients.cmd.on('ready', () => void this.checkEpoch())
    void this.checkEpoch()
    this.reader = new StreamReader({
      reader: clients.reader,
      cmd: clients.cmd,
      keyOf: (room) => this.key(room),
      trimmedBelow: async (room) => {
        const threshold = await this.clients.timed(this.clients.cmd.get(this.trimmedKey(room)))
        return threshold === null ? null : String(threshold)
      },
      logger: options.logger,
      toEntry: (room, message) => this.toEntry(room, message),
      blockMs: clients.liveness.readBlockMs,
      timeoutMs: clients.liveness.timeoutMs,
      batch: READ_BATCH,
      reportHealth: (answering) => clients.reportReader(answering),
      failures: options.failures ?? clients.liveness.failures,
    }, clients.binaryReader)
  }

  async append(room: string, updates: LoggedUpdate[]): Promise<LogId> {
    const record = Buffer.from(encodeRecord(updates))
    const id = await this.clients.timed(this.clients.cmd.eval(APPEND, { keys: [this.key(room), this.roomsKey], arguments: [record, room] }), 'append')
    return String(id)
  }

  async read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    const messages = await this.clients.timed(this.clients.binary.xRange(this.key(room), `(${after}`, '+', { COUNT: limit }), 'read')
    return (messages ?? []).map((m) => this.toEntry(room, m))
  }

  async trim(room: string, upTo: LogId): Promise<void> {
    const threshold = this.trimThreshold(upTo)
    await this.clients.timed(this.clients.cmd.eval(TRIM, { keys: [this.key(room), this.trimmedKey(room)], arguments: [threshold] }), 'trim')
    await this.clients.timed(this.clients.cmd.eval(FORGET_IF_EMPTY, { keys: [this.key(room), this.roomsKey], arguments: [room] }), 'trim')
  }

  async deleteRoom(room: string): Promise<void> {
    await this.clients.timed(this.clients.cmd.del([this.key(room), this.trimmedKey(room)]))
    await this.clients.timed(this.clients.cmd.sRem(this.roomsKey, room))
  }

  size(room: string): Promise<number> {
    return this.clients.timed(this.clients.cmd.xLen(this.key(room)))
  }

  subscribe(room: string, after: LogId, listener: LogListener): Subscription {
    return this.reader.follow(room, after, listener)
  }

  roomsWithEntries(): Promise<string[]> {
    return this.clients.timed(this.clients.cmd.sMembers(this.roomsKey))
  }

  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener)
    return () => this.resetListeners.delete(listener)
  }

  isUp(): boolean {
    return this.clients.isUp()
  }

  onHealth(listener: HealthListener): () => void {
    return this.clients.onHealth(listener)
  }

  async close(): Promise<void> {
    await this.reader.stop()
  }

  /**
   * Marks this Redis with an epoch (kept if one is there). If the epoch we knew is gone or
   * changed, Redis lost its data (restarted without persistence, or flushed): tell listeners.
   */
  private async checkEpoch(): Promise<void> {
    const mine = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
    try {
      await this.clients.timed(this.clients.cmd.set(this.epochKey, mine, { condition: 'NX' }), 'epoch')
      const current = await this.clients.timed(this.clients.cmd.get(this.epochKey), 'epoch')
      const lost = this.epoch !== null && current !== this.epoch
      this.epoch = current
      if (!lost) return
      this.options.logger.error({ epoch: current }, 'redis lost its data (restarted without persistence?): rooms log again what they hold')
      for (const listener of this.resetListeners) listener()
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not check the redis epoch; will on the next reconnect')
    }
  }

  /** Field `r` holds a record; `u`, a bare update from before records existed. */
  private toEntry(room: string, message: StreamMessage): LogEntry {
    const bytes = message.message.r ?? message.message.u
    const report = (error: unknown): void => this.options.logger.error({ err: error, room, id: String(message.id) }, 'skipping a damaged log record')
    return { id: String(message.id), updates: bytes ? decodeRecordOrReport(new Uint8Array(bytes), report) : [] }
  }

  /** Entries below the result go: those ≤ upTo, but none younger than the minimum age. */
  private trimThreshold(upTo: LogId): LogId {
    const covered = successorLogId(upTo)
    if (this.options.minEntryAgeMs === 0) return covered
    const youngest = formatLogId(Math.max(0, Date.now() - this.options.minEntryAgeMs), 0)
    return compareLogIds(covered, youngest) < 0 ? covered : youngest
  }

  private key(room: string): string {
    return `${this.options.prefix}log:${room}`
  }

  private trimmedKey(room: string): string {
    return `${this.options.prefix}trimmed:${room}`
  }
}
