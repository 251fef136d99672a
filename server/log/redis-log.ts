/**
 * The update log on Redis Streams, one stream per room (the y-redis architecture, written here).
 * A batch of updates is one script (XADD + mark the room as having entries + count its bytes), so
 * it lands whole or not at all, and a batch with a limit is refused there if the document would
 * pass it (each node checks the limit too, but only against what it has read). Entries are trimmed after compaction, but never before they are
 * REDIS_MIN_ENTRY_AGE_MS old, so a node that fell briefly behind still finds what it missed;
 * each trim also records its threshold, which is how a reader that fell further behind knows
 * it has a gap (Redis does not track ids removed by XTRIM).
 */
import type { BackgroundFailures } from '../background-loop.ts'
import type { RedisClients } from '../cluster/redis-clients.ts'
import type { Logger } from '../logger.ts'
import { LOG_START, compareLogIds, formatLogId, parseLogId, successorLogId, type LogId } from './log-id.ts'
import { decodeRecordOrReport, encodeRecord, recordBytes } from './record-codec.ts'
import { RedisScript } from './redis-script.ts'
import { StreamReader, type StreamMessage } from './stream-reader.ts'
import { DocumentFullError, type AppendOptions, type HealthListener, type LogEntry, type LoggedUpdate, type LogListener, type Subscription, type UpdateLog } from './types.ts'

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
      mayBeTrimmedAfter: (position) => this.mayBeTrimmedAfter(position),
      logger: options.logger,
      toEntry: (room, message) => this.toEntry(room, message),
      blockMs: clients.liveness.readBlockMs,
      timeoutMs: clients.liveness.timeoutMs,
      batch: READ_BATCH,
      reportHealth: (answering) => clients.reportReader(answering),
      failures: options.failures ?? clients.liveness.failures,
    }, clients.binaryReader)
  }

  async append(room: string, updates: LoggedUpdate[], { limit, tag = '' }: AppendOptions = {}): Promise<LogId> {
    const record = Buffer.from(encodeRecord({ tag, updates }))
    const bounds = limit ? [String(limit.maxDocBytes), limit.base.watermark, String(limit.base.bytes)] : ['', '', '']
    const keys = [this.key(room), this.roomsKey, this.sizeKey(room)]
    const answer = await this.clients.timed(APPEND.run(this.clients.cmd, { keys, arguments: [record, room, String(recordBytes(updates)), ...bounds] }), 'append')
    if (typeof answer === 'number' && limit) throw new DocumentFullError(answer, limit.maxDocBytes)
    return String(answer)
  }

  async read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    const messages = await this.clients.timed(this.clients.binary.xRange(this.key(room), `(${after}`, '+', { COUNT: limit }), 'read')
    return (messages ?? []).map((m) => this.toEntry(room, m))
  }

  /** The stream's last generated id: a trim removes entries, never the id of the newest one. */
  async head(room: string): Promise<LogId> {
    try {
      const info = await this.clients.timed(this.clients.cmd.xInfoStream(this.key(room)), 'head')
      return String(info['last-generated-id'])
    } catch (error) {
      if (error instanceof Error && /no such key/i.test(error.message)) return LOG_START // never written (or deleted)
      throw error
    }
  }

  async trim(room: string, upTo: LogId, snapshotBytes?: number): Promise<void> {
    const threshold = this.trimThreshold(upTo)
    const keys = [this.key(room), this.trimmedKey(room), this.sizeKey(room)]
    await this.clients.timed(TRIM.run(this.clients.cmd, { keys, arguments: [threshold, upTo, snapshotBytes === undefined ? '' : String(snapshotBytes)] }), 'trim')
    await this.clients.timed(FORGET_IF_EMPTY.run(this.clients.cmd, { keys: [this.key(room), this.roomsKey], arguments: [room] }), 'trim')
  }

  async deleteRoom(room: string): Promise<void> {
    await this.clients.timed(this.clients.cmd.del([this.key(room), this.trimmedKey(room), this.sizeKey(room)]))
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
    return `${this.options.prefix}log:${room}`
  }

  private sizeKey(room: string): string {
    return `${this.options.prefix}size:${room}`
  }

  private trimmedKey(room: string): string {
    return `${this.options.prefix}trimmed:${room}`
  }
}
