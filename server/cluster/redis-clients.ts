/**
 * The node's Redis connections: `cmd` for commands (offline queue disabled, so a command fails
 * at once while Redis is away instead of piling up), `reader` for the blocking stream read, and
 * `sub` for pub/sub. All reconnect by themselves.
 *
 * A Redis that stops answering without closing (a silent network) is noticed too: commands on
 * the write and read paths are bounded by `timeoutMs` (`timed`; @redis/client's own command
 * timeout stops counting once a command is written, so it cannot see a silent server), `cmd`
 * and `sub` are PINGed every `pingEveryMs` and must answer within `timeoutMs`, and the stream
 * reader reports how its reads go (`reportReader`). `isUp` is true only while all three answer;
 * `onHealth` tells every change. A command that timed out stays queued on its connection and
 * its late answer is dropped, so after a silent spell heals the connection carries on in step.
 */
import { raceDeadline } from '../deadline.ts'
import { createClient, RESP_TYPES } from '@redis/client'
import { BackgroundFailures, BackgroundLoop } from '../background-loop.ts'
import type { Logger } from '../logger.ts'
import type { BlockingConnection, Channels, RedisBackend, StreamReply } from './redis-backend.ts'
import { plainKeyspace, type RedisKeyspace } from './redis-keyspace.ts'

/** Bulk strings as Buffers (stream entries are binary). */
export const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Logged at most this often per connection while Redis is unreachable. */
const ERROR_LOG_INTERVAL_MS = 10_000
const MAX_RECONNECT_DELAY_MS = 2_000

export interface RedisLiveness {
  /** A command, or a liveness PING, not answered within this fails (the connection counts as down). */
  timeoutMs: number
  /** How often `cmd` and `sub` are PINGed. */
  pingEveryMs: number
  /** Longest block of the stream reader's XREAD (its reads may take this plus `timeoutMs`). */
  readBlockMs: number
  /** Replicas an append waits for before it is acknowledged (WAIT); 'auto': 1 on a cluster whose master has one. */
  waitReplicas: number | 'auto'
  failures: BackgroundFailures
}

export const DEFAULT_LIVENESS: Omit<RedisLiveness, 'failures'> = { timeoutMs: 5_000, pingEveryMs: 1_000, readBlockMs: 2_000, waitReplicas: 'auto' }

type Connection = 'cmd' | 'reader' | 'sub'

export class RedisTimeoutError extends Error {
  override name = 'RedisTimeoutError'
}

/** `promise`, or a RedisTimeoutError if it has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return raceDeadline(promise, ms, () => new RedisTimeoutError(`${what}: no answer from Redis within ${ms} ms`))
}

/** Waits between reconnect attempts: 50 ms, doubling, up to 2 s. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS)
}

function newClient(url: string, timeoutMs = DEFAULT_LIVENESS.timeoutMs) {
  return createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: { connectTimeout: 2_000, reconnectStrategy: reconnectDelay },
  })
}

export type RedisClient = ReturnType<typeof newClient>

function binary(client: RedisClient) {
  return client.withTypeMapping(BUFFERS)
}

export type BinaryRedisClient = ReturnType<typeof binary>

/** One Redis (REDIS_URL): keys keep their plain names, one blocking reader for every room. */
export class RedisClients implements RedisBackend {
  readonly cmd: RedisClient
  readonly binary: BinaryRedisClient
  readonly reader: RedisClient
  readonly binaryReader: BinaryRedisClient
  readonly sub: RedisClient
  readonly liveness: RedisLiveness
  readonly nodeChannels: Channels
  readonly roomChannels: Channels
  private readonly readerConnection: BlockingConnection
  private readonly healthListeners = new Set<(up: boolean) => void>()
  private up = false
  /** Whether each connection answered its last probe (or read) in time. */
  private readonly answering: Record<Connection, boolean> = { cmd: false, reader: false, sub: false }
  private readonly probes: BackgroundLoop[]
  private readonly logger: Logger

  private constructor(clients: Record<Connection, RedisClient>, liveness: RedisLiveness, logger: Logger) {
    this.cmd = clients.cmd
    this.binary = binary(clients.cmd)
    this.reader = clients.reader
    this.binaryReader = binary(clients.reader)
    this.sub = clients.sub
    this.liveness = liveness
    this.logger = logger
    this.nodeChannels = plainChannels(clients.cmd, clients.sub)
    this.roomChannels = this.nodeChannels
    this.readerConnection = standaloneReader(clients.reader, this.binaryReader, clients.cmd)
    this.probes = (['cmd', 'sub'] as const).map((name) => this.probe(name, clients[name]))
    for (const name of ['cmd', 'reader', 'sub'] as const) {
      clients[name].on('end', () => this.report(name, false))
      clients[name].on('reconnecting', () => this.report(name, false))
    }
    clients.reader.on('ready', () => this.report('reader', true))
  }

  static async connect(url: string, logger: Logger, liveness: Partial<RedisLiveness> = {}): Promise<RedisClients> {
    const options: RedisLiveness = { ...DEFAULT_LIVENESS, failures: new BackgroundFailures(), ...liveness }
    const cmd = newClient(url, options.timeoutMs)
    // The reader's XREAD blocks up to readBlockMs before Redis answers it.
    const reader = cmd.duplicate({ commandOptions: { timeout: options.readBlockMs + options.timeoutMs } })
    const sub = cmd.duplicate({ disableOfflineQueue: false })
    logErrors(cmd, 'cmd', logger)
    logErrors(reader, 'reader', logger)
    logErrors(sub, 'sub', logger)
    const clients = new RedisClients({ cmd, reader, sub }, options, logger)
    await Promise.all([cmd.connect(), reader.connect(), sub.connect()])
    for (const name of ['cmd', 'reader', 'sub'] as const) clients.report(name, true)
    for (const probe of clients.probes) probe.start()
    return clients
  }

  get keyed(): RedisClient {
    return this.cmd
  }

  get binaryKeyed(): BinaryRedisClient {
    return this.binary
  }

  keyspace(prefix: string): RedisKeyspace {
    return plainKeyspace(prefix)
  }

  blockingReader(): BlockingConnection {
    return this.readerConnection
  }

  async replicated(): Promise<void> {
    const wanted = this.liveness.waitReplicas === 'auto' ? 0 : this.liveness.waitReplicas
    if (wanted === 0) return
    const acked = await this.timed(this.cmd.wait(wanted, this.liveness.timeoutMs), 'WAIT')
    if (acked < wanted) throw new RedisTimeoutError(`WAIT: ${acked} of ${wanted} replicas took the write within ${this.liveness.timeoutMs} ms`)
  }

  reportReader(_bucket: number, answering: boolean): void {
    this.report('reader', answering)
  }

  onCommandsReady(listener: () => void): void {
    this.cmd.on('ready', listener)
  }

  onSubscriberReconnect(listener: () => void): void {
    this.onReconnect(this.sub, listener)
  }

  isUp(): boolean {
    return this.up && this.cmd.isReady
  }

  commandsReady(): boolean {
    return this.cmd.isReady
  }

  /** `command`, failing with RedisTimeoutError if Redis has not answered within `timeoutMs`. */
  timed<T>(command: Promise<T>, what = 'redis command'): Promise<T> {
    return withDeadline(command, this.liveness.timeoutMs, what)
  }

  onHealth(listener: (up: boolean) => void): () => void {
    this.healthListeners.add(listener)
    return () => this.healthListeners.delete(listener)
  }

  /** Calls `listener` whenever `client` is ready again after losing its connection. */
  onReconnect(client: RedisClient, listener: () => void): void {
    let lost = false
    client.on('reconnecting', () => { lost = true })
    client.on('ready', () => {
      if (lost) listener()
      lost = false
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.probes.map((probe) => probe.stop()))
    await Promise.allSettled([this.sub, this.reader, this.cmd].map((client) => client.isOpen ? client.close() : undefined))
  }

  /**
   * PINGs `client` on schedule; a PING that fails or outlasts `timeoutMs` marks it down. While a
   * PING is unanswered no other is sent (a silent connection would queue one per tick).
   */
  private probe(name: Connection, client: RedisClient): BackgroundLoop {
    let inFlight: Promise<unknown> | null = null
    const loop = new BackgroundLoop(async () => {
      if (!client.isReady) return // reconnecting: 'ready' brings the next probe at once
      inFlight ??= client.ping().finally(() => { inFlight = null })
      try {
        await this.timed(inFlight, `PING on ${name}`)
        this.report(name, true)
      } catch (error) {
        this.report(name, false)
        throw error
      }
    }, { name: `redis-ping-${name}`, everyMs: this.liveness.pingEveryMs, logger: this.logger, failures: this.liveness.failures })
    client.on('ready', () => void loop.runNow())
    return loop
  }

  private report(name: Connection, answering: boolean): void {
    if (this.answering[name] !== answering) {
      this.answering[name] = answering
      if (!answering) this.logger.warn({ connection: name }, 'redis connection not answering')
    }
    const up = this.answering.cmd && this.answering.reader && this.answering.sub
    if (this.up === up) return
    this.up = up
    this.logger.info({ up }, up ? 'redis answering again' : 'redis down')
    for (const listener of this.healthListeners) listener(up)
  }
}

/** Plain PUBLISH/SUBSCRIBE: on one Redis, room channels and node channels are the same kind. */
function plainChannels(cmd: RedisClient, sub: RedisClient): Channels {
  return {
    publish: (channel, message) => cmd.publish(channel, message),
    subscribe: (channel, listener) => sub.subscribe(channel, listener, true),
    unsubscribe: (channel, listener) => sub.unsubscribe(channel, listener, true),
  }
}

/** The one reader connection of a single Redis, interrupted through the command connection. */
function standaloneReader(reader: RedisClient, binaryReader: BinaryRedisClient, cmd: RedisClient): BlockingConnection {
  return {
    get isReady() { return reader.isReady },
    xRead: async (streams, options) => (await binaryReader.xRead(streams, options)) as StreamReply,
    clientId: () => reader.clientId(),
    ping: () => reader.ping(),
    unblock: async (id) => (cmd.isReady ? Number(await cmd.sendCommand(['CLIENT', 'UNBLOCK', String(id)])) : 0),
    onReconnecting: (listener) => { reader.on('reconnecting', listener) },
    close: async () => {},
  }
}

export function logErrors(client: { on(event: 'error', listener: (error: Error) => void): unknown }, name: string, logger: Logger): void {
  let lastLogged = 0
  client.on('error', (error: Error) => {
    if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return
    lastLogged = Date.now()
    logger.warn({ err: error, connection: name }, 'redis connection error')
  })
}
