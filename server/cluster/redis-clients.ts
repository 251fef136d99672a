/**
 * The node's Redis connections: `cmd` for commands (offline queue disabled, so a command fails
 * at once while Redis is away instead of piling up), `reader` for the blocking stream read, and
 * `sub` for pub/sub. All reconnect by themselves; `isUp` and `onHealth` follow `cmd`.
 */
import { createClient, RESP_TYPES } from '@redis/client'
import type { Logger } from '../logger.ts'

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Logged at most this often per connection while Redis is unreachable. */
const ERROR_LOG_INTERVAL_MS = 10_000
const MAX_RECONNECT_DELAY_MS = 2_000

function newClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) },
  })
}

export type RedisClient = ReturnType<typeof newClient>

function binary(client: RedisClient) {
  return client.withTypeMapping(BUFFERS)
}

export type BinaryRedisClient = ReturnType<typeof binary>

export class RedisClients {
  readonly cmd: RedisClient
  readonly binary: BinaryRedisClient
  readonly reader: RedisClient
  readonly binaryReader: BinaryRedisClient
  readonly sub: RedisClient
  private readonly healthListeners = new Set<(up: boolean) => void>()
  private up = false

  private constructor(cmd: RedisClient, reader: RedisClient, sub: RedisClient) {
    this.cmd = cmd
    this.binary = binary(cmd)
    this.reader = reader
    this.binaryReader = binary(reader)
    this.sub = sub
    cmd.on('ready', () => this.setUp(true))
    cmd.on('end', () => this.setUp(false))
    cmd.on('reconnecting', () => this.setUp(false))
  }

  static async connect(url: string, logger: Logger): Promise<RedisClients> {
    const cmd = newClient(url)
    const reader = cmd.duplicate()
    const sub = cmd.duplicate({ disableOfflineQueue: false })
    logErrors(cmd, 'cmd', logger)
    logErrors(reader, 'reader', logger)
    logErrors(sub, 'sub', logger)
    const clients = new RedisClients(cmd, reader, sub)
    await Promise.all([cmd.connect(), reader.connect(), sub.connect()])
    return clients
  }

  isUp(): boolean {
    return this.up && this.cmd.isReady
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
    await Promise.allSettled([this.sub, this.reader, this.cmd].map((client) => client.isOpen ? client.close() : undefined))
  }

  private setUp(up: boolean): void {
    if (this.up === up) return
    this.up = up
    for (const listener of this.healthListeners) listener(up)
  }
}

function logErrors(client: { on(event: 'error', listener: (error: Error) => void): unknown }, name: string, logger: Logger): void {
  let lastLogged = 0
  client.on('error', (error: Error) => {
    if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return
    lastLogged = Date.now()
    logger.warn({ err: error, connection: name }, 'redis connection error')
  })
}
