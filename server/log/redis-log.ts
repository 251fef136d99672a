/**
 * The update log on Redis Streams, one stream per room (the y-redis architecture, written here).
 * A batch of updates is one script (XADD + mark the room as having entries + count its bytes), so
 * it lands whole or not at all, and a batch with a limit is refused there if the document would
 * pass it (each node checks the limit too, but only against what it has read). Entries are trimmed after compaction, but never before they are
 * REDIS_MIN_ENTRY_AGE_MS old, so a node that fell briefly behind still finds what it missed;
 * each trim also records its threshold, which is how a reader that fell further behind knows
 * it has a gap (Redis does not track ids removed by XTRIM).
 */
import { ErrorReply } from '@redis/client'
import type { BackgroundFailures } from '../background-loop.ts'
import type { RedisBackend } from '../cluster/redis-backend.ts'
import type { RedisKeyspace } from '../cluster/redis-keyspace.ts'
import type { Logger } from '../logger.ts'
import { LOG_START, compareLogIds, formatLogId, parseLogId, successorLogId, type LogId } from './log-id.ts'
import { decodeRecordOrReport, encodeRecord, recordBytes } from './record-codec.ts'
import { RedisScript } from './redis-script.ts'
import { StreamReader, type StreamMessage } from './stream-reader.ts'
import { AppendRefusedError, DocumentFullError, type AppendOptions, type HealthListener, type LogEntry, type LoggedUpdate, type LogListener, type Subscription, type UpdateLog } from './types.ts'

export interface RedisLogOptions {
  prefix: string
  minEntryAgeMs: number
  logger: Logger
  failures?: BackgroundFailures
}

/** Removes a room from the set of rooms with entries only if its stream is (still) empty. */
const FORGET_IF_EMPTY = new RedisScript(`if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`)

/**
 * The document's size beside its stream, in a hash {base, bytes}: the bytes of the snapshot
 * covering `base` plus those of the updates logged after it (each entry keeps its update bytes in
 * field `n`). `count` reads it, or counts it afresh from a newer base (the writer's snapshot, when
 * the hash is missing: a new room, a Redis that lost its data, a deployment from before counts).
 */
const SIZE_FUNCTIONS = `
local function parse(id) local ms, seq = string.match(id, '^(%d+)-(%d+)$') return tonumber(ms), tonumber(seq) end
local function newer(a, b)
  if not b then return true end
  local am, as = parse(a) local bm, bs = parse(b)
  return am > bm or (am == bm and as > bs)
end
local function logged_after(stream, watermark)
  local sum = 0
  for _, entry in ipairs(redis.call('XRANGE', stream, '(' .. watermark, '+')) do
    local fields = entry[2] local n = nil
    for i = 1, #fields, 2 do if fields[i] == 'n' then n = tonumber(fields[i + 1]) end end
    sum = sum + (n or #fields[2])
  end
  return sum
end
local function count(stream, size, watermark, bytes)
  local base = redis.call('HGET', size, 'base')
  if base and not newer(watermark, base) then return tonumber(redis.call('HGET', size, 'bytes')) end
  local total = tonumber(bytes) + logged_after(stream, watermark)
  redis.call('HSET', size, 'base', watermark, 'bytes', string.format('%d', total))
  return total
end
`

/**
 * One batch, whole or not at all: XADD + mark the room as having entries + count its bytes; with
 * a limit (ARGV[4]), refused when the document would pass it (the answer is then its size, a
 * number, instead of the new id). A script rather than MULTI because scripts are plain commands,
 * which time out (MULTI in @redis/client does not), and because the check and the write must be
 * one step: two nodes appending at once must not both pass it.
 */
const APPEND = new RedisScript(`${SIZE_FUNCTIONS}
local n = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local total = count(KEYS[1], KEYS[3], ARGV[5], ARGV[6])
  if total + n > tonumber(ARGV[4]) then return total end
end
local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1], 'n', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'bytes', n) end
return id`)

/**
 * Trim and record the threshold together (a reader compares its position with it); with the
 * stored snapshot's size (ARGV[3]), the document's size is counted from that snapshot on.
 */
const TRIM = new RedisScript(`${SIZE_FUNCTIONS}
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then count(KEYS[1], KEYS[3], ARGV[2], ARGV[3]) end
return 1`)

const READ_BATCH = 1_000
/** How far apart Redis's clock (entry ids) and a node's (entry ages) may be, for deciding what a trim may have reached. */
const CLOCK_SKEW_MARGIN_MS = 5_000

export class RedisLog implements UpdateLog {
  readonly kind = 'redis' as const
  private readonly clients: RedisBackend
  private readonly options: RedisLogOptions
  private readonly keys: RedisKeyspace
  /** One reader per bucket followed (one in all on a single Redis). */
  private readonly readers = new Map<number, StreamReader>()
  /** Set once per Redis lifetime (per bucket: on a cluster, per slot's master); one that comes back without it lost our entries. */
  private readonly epochs = new Map<number, string>()
  private readonly resetListeners = new Set<() => void>()

  constructor(clients: RedisBackend, options: RedisLogOptions) {
    this.clients = clients
    this.options = options
    this.keys = clients.keyspace(options.prefix)
    clients.onCommandsReady(() => void this.checkEpochs())
    void this.checkEpochs()
  }

  async append(room: string, updates: LoggedUpdate[], { limit, tag = '' }: AppendOptions = {}): Promise<LogId> {
    const record = Buffer.from(encodeRecord({ tag, updates }))
    const bounds = limit ? [String(limit.maxDocBytes), limit.base.watermark, String(limit.base.bytes)] : ['', '', '']
    const keys = [this.key(room), this.roomsKey(room), this.sizeKey(room)]
    const answer = await this.clients.timed(APPEND.run(this.clients.keyed, { keys, arguments: [record, room, String(recordBytes(updates)), ...bounds] }), 'append').catch((error: unknown) => {
      throw error instanceof ErrorReply ? new AppendRefusedError(`redis refused the append: ${error.message}`, { cause: error }) : error
    })
    if (typeof answer === 'number' && limit) throw new DocumentFullError(answer, limit.maxDocBytes)
    await this.clients.replicated(keys[0] as string)
    return String(answer)
  }

  async read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    const messages = await this.clients.timed(this.clients.binaryKeyed.xRange(this.key(room), `(${after}`, '+', { COUNT: limit }), 'read')
    return (messages ?? []).map((m) => this.toEntry(room, m))
  }

  /** The stream's last generated id: a trim removes entries, never the id of the newest one. */
  async head(room: string): Promise<LogId> {
    try {
      const info = await this.clients.timed(this.clients.keyed.xInfoStream(this.key(room)), 'head')
      return String(info['last-generated-id'])
    } catch (error) {
      if (error instanceof Error && /no such key/i.test(error.message)) return LOG_START // never written (or deleted)
      throw error
    }
  }

  async trim(room: string, upTo: LogId, snapshotBytes?: number): Promise<void> {
    const threshold = this.trimThreshold(upTo)
    const keys = [this.key(room), this.trimmedKey(room), this.sizeKey(room)]
    await this.clients.timed(TRIM.run(this.clients.keyed, { keys, arguments: [threshold, upTo, snapshotBytes === undefined ? '' : String(snapshotBytes)] }), 'trim')
    await this.clients.timed(FORGET_IF_EMPTY.run(this.clients.keyed, { keys: [this.key(room), this.roomsKey(room)], arguments: [room] }), 'trim')
  }

  async deleteRoom(room: string): Promise<void> {
    await this.clients.timed(this.clients.keyed.del([this.key(room), this.trimmedKey(room), this.sizeKey(room)]))
    await this.clients.timed(this.clients.keyed.sRem(this.roomsKey(room), room))
  }

  size(room: string): Promise<number> {
    return this.clients.timed(this.clients.keyed.xLen(this.key(room)))
  }

  subscribe(room: string, after: LogId, listener: LogListener): Subscription {
    return this.readerOf(this.keys.bucketOf(room)).follow(room, after, listener)
  }

  async roomsWithEntries(): Promise<string[]> {
    const buckets = Array.from({ length: this.keys.buckets }, (_, bucket) => this.keys.bucketKey('rooms', bucket))
    const sets = await Promise.all(buckets.map((key) => this.clients.timed(this.clients.keyed.sMembers(key))))
    return sets.flat()
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
    await Promise.all([...this.readers.values()].map((reader) => reader.stop()))
  }

  /** The reader of a bucket's streams, started when the bucket is first followed. */
  private readerOf(bucket: number): StreamReader {
    let reader = this.readers.get(bucket)
    if (reader) return reader
    reader = new StreamReader({
      connection: this.clients.blockingReader(bucket),
      keyOf: (room) => this.key(room),
      trimmedBelow: async (room) => {
        const threshold = await this.clients.timed(this.clients.keyed.get(this.trimmedKey(room)))
        return threshold === null ? null : String(threshold)
      },
      mayBeTrimmedAfter: (position) => this.mayBeTrimmedAfter(position),
      logger: this.options.logger,
      toEntry: (room, message) => this.toEntry(room, message),
      blockMs: this.clients.liveness.readBlockMs,
      timeoutMs: this.clients.liveness.timeoutMs,
      batch: READ_BATCH,
      reportHealth: (answering) => this.clients.reportReader(bucket, answering),
      failures: this.options.failures ?? this.clients.liveness.failures,
    })
    this.readers.set(bucket, reader)
    return reader
  }

  private async checkEpochs(): Promise<void> {
    await Promise.all(Array.from({ length: this.keys.buckets }, (_, bucket) => this.checkEpoch(bucket)))
  }

  /**
   * Marks a bucket's Redis with an epoch (kept if one is there). If the epoch we knew is gone or
   * changed, that Redis lost its data (restarted without persistence, flushed, a master replaced
   * by an empty one): tell listeners.
   */
  private async checkEpoch(bucket: number): Promise<void> {
    const key = this.keys.bucketKey('epoch', bucket)
    const mine = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
    try {
      await this.clients.timed(this.clients.keyed.set(key, mine, { condition: 'NX' }), 'epoch')
      const current = await this.clients.timed(this.clients.keyed.get(key), 'epoch')
      const known = this.epochs.get(bucket)
      if (current !== null) this.epochs.set(bucket, current)
      if (known === undefined || current === known) return
      this.options.logger.error({ epoch: current, bucket }, 'redis lost its data (restarted without persistence?): rooms log again what they hold')
      for (const listener of this.resetListeners) listener()
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not check the redis epoch; will on the next reconnect')
    }
  }

  /** Field `r` holds a record; `u`, a bare update from before records existed. */
  private toEntry(room: string, message: StreamMessage): LogEntry {
    const bytes = message.message.r ?? message.message.u
    const report = (error: unknown): void => this.options.logger.error({ err: error, room, id: String(message.id) }, 'skipping a damaged log record')
    return { id: String(message.id), ...(bytes ? decodeRecordOrReport(new Uint8Array(bytes), report) : { tag: '', updates: [] }) }
  }

  /**
   * Entries after `position` are younger than it; none of them can be trimmed while it is younger
   * than the minimum age (with a margin for clocks: ids come from Redis's, ages from each node's).
   */
  private mayBeTrimmedAfter(position: LogId): boolean {
    return Date.now() - parseLogId(position)[0] >= this.options.minEntryAgeMs - CLOCK_SKEW_MARGIN_MS
  }

  /** Entries below the result go: those ≤ upTo, but none younger than the minimum age. */
  private trimThreshold(upTo: LogId): LogId {
    const covered = successorLogId(upTo)
    if (this.options.minEntryAgeMs === 0) return covered
    const youngest = formatLogId(Math.max(0, Date.now() - this.options.minEntryAgeMs), 0)
    return compareLogIds(covered, youngest) < 0 ? covered : youngest
  }

  private key(room: string): string {
    return this.keys.roomKey('log', room)
  }

  private sizeKey(room: string): string {
    return this.keys.roomKey('size', room)
  }

  private trimmedKey(room: string): string {
    return this.keys.roomKey('trimmed', room)
  }

  /** The set of rooms with entries, beside the room's stream (in its bucket). */
  private roomsKey(room: string): string {
    return this.keys.bucketKey('rooms', this.keys.bucketOf(room))
  }
}
