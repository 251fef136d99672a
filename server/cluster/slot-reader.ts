/**
 * A blocking-read connection pinned to the master of one slot of a Redis Cluster (one bucket's
 * streams; see redis-keyspace.ts). A blocking XREAD cannot share the cluster client's connection
 * to that master (every other command would wait behind it), so each bucket gets its own pair:
 * a reader and a control connection for CLIENT UNBLOCK, both on the same server.
 *
 * When the slot moves (a resharding answers MOVED, a failover promotes a replica while the old
 * master stops answering) the pair is rebuilt on the slot's new master, as the cluster client
 * learns it, and listeners are told as after a reconnect: entries may have been trimmed, or lost
 * with the old master, so every follower checks for a gap before it reads on.
 */
import { createClient } from '@redis/client'
import type { Logger } from '../logger.ts'
import type { BlockingConnection, StreamReply } from './redis-backend.ts'
import { BUFFERS, logErrors, reconnectDelay, withDeadline, type RedisClient } from './redis-clients.ts'


export interface SlotMasterSource {
  /** The address (`host:port`) the cluster client currently knows as the slot's master. */
  masterOf(slot: number): { host: string; port: number } | undefined
  /** Asks the cluster for its topology again (after MOVED, or when the master stops answering). */
  rediscover(): Promise<void>
}

interface Pinned {
  address: string
  reader: RedisClient
  control: RedisClient
}

export class SlotReader implements BlockingConnection {
  private readonly slot: number
  private readonly source: SlotMasterSource
  private readonly timeoutMs: number
  private readonly readBlockMs: number
  private readonly logger: Logger
  private readonly listeners = new Set<() => void>()
  private pinned: Pinned | null = null
  private pinning: Promise<Pinned> | null = null
  private closed = false

  constructor(slot: number, source: SlotMasterSource, options: { timeoutMs: number; readBlockMs: number; logger: Logger }) {
    this.slot = slot
    this.source = source
    this.timeoutMs = options.timeoutMs
    this.readBlockMs = options.readBlockMs
    this.logger = options.logger
  }

  get isReady(): boolean {
    // Not pinned yet: ready to try (the first read pins).
    return this.pinned === null ? !this.closed : this.pinned.reader.isReady
  }

  async xRead(streams: Array<{ key: string; id: string }>, options: { BLOCK: number; COUNT: number }): Promise<StreamReply> {
    const { reader } = await this.pin()
    try {
      return (await reader.withTypeMapping(BUFFERS).xRead(streams, options)) as StreamReply
    } catch (error) {
      if (isMoved(error)) await this.repin('the slot moved')
      throw error
    }
  }

  async clientId(): Promise<number> {
    return (await this.pin()).reader.clientId()
  }

  async ping(): Promise<unknown> {
    return (await this.pin()).reader.ping()
  }

  async unblock(id: number): Promise<number> {
    const pinned = this.pinned
    if (!pinned || !pinned.control.isReady) return 0
    return Number(await pinned.control.sendCommand(['CLIENT', 'UNBLOCK', String(id)]))
  }

  onReconnecting(listener: () => void): void {
    this.listeners.add(listener)
  }

  async close(): Promise<void> {
    this.closed = true
    const pinned = this.pinned
    this.pinned = null
    if (pinned) await release(pinned)
  }

  private async pin(): Promise<Pinned> {
    if (this.pinned) return this.pinned
    this.pinning ??= this.connect().finally(() => { this.pinning = null })
    return this.pinning
  }

  private async connect(): Promise<Pinned> {
    let master = this.source.masterOf(this.slot)
    if (!master) {
      await this.source.rediscover()
      master = this.source.masterOf(this.slot)
    }
    if (!master) throw new Error(`no master known for slot ${this.slot}`)
    const pinned = this.open(master)
    try {
      // Bounded: a master that died before the cluster noticed would keep a first connect retrying forever.
      await withDeadline(Promise.all([pinned.reader.connect(), pinned.control.connect()]), this.timeoutMs, `connect to ${pinned.address}`)
    } catch (error) {
      await release(pinned)
      throw error
    }
    if (this.closed) {
      await release(pinned)
      throw new Error('slot reader closed')
    }
    this.pinned = pinned
    return pinned
  }

  private open(master: { host: string; port: number }): Pinned {
    const address = `${master.host}:${master.port}`
    const socket = {
      host: master.host,
      port: master.port,
      connectTimeout: 2_000,
      // Each failed attempt asks whether the slot has a new master by now (a failover).
      reconnectStrategy: (retries: number) => {
        void this.checkMoved(address)
        return reconnectDelay(retries)
      },
    }
    const reader = createClient({ socket, disableOfflineQueue: true, commandOptions: { timeout: this.readBlockMs + this.timeoutMs } })
    const control = createClient({ socket: { ...socket, reconnectStrategy: reconnectDelay }, disableOfflineQueue: true, commandOptions: { timeout: this.timeoutMs } })
    logErrors(reader, `reader slot ${this.slot}`, this.logger)
    logErrors(control, `reader control slot ${this.slot}`, this.logger)
    reader.on('reconnecting', () => this.tell())
    return { address, reader, control }
  }

  /** While the pinned master does not answer: if the cluster names another one, move there. */
  private async checkMoved(address: string): Promise<void> {
    await this.source.rediscover().catch(() => undefined)
    const master = this.source.masterOf(this.slot)
    if (master && `${master.host}:${master.port}` !== address && this.pinned?.address === address) {
      await this.repin(`master of slot ${this.slot} is now ${master.host}:${master.port}`)
    }
  }

  /** Drops the pinned connections; the next read pins the slot's master as the cluster knows it now. */
  private async repin(reason: string): Promise<void> {
    const pinned = this.pinned
    if (!pinned) return
    this.pinned = null
    this.logger.info({ slot: this.slot, from: pinned.address, reason }, 'blocking reader moves to the slot\'s master')
    await this.source.rediscover().catch(() => undefined)
    this.tell()
    await release(pinned)
  }

  private tell(): void {
    for (const listener of this.listeners) listener()
  }
}

/** MOVED: the slot is served elsewhere for good (ASK and TRYAGAIN, mid-migration, are retried where we are). */
function isMoved(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('MOVED')
}

async function release(pinned: Pinned): Promise<void> {
  await Promise.allSettled([pinned.reader, pinned.control].map((client) => (client.isOpen ? client.destroy() : undefined)))
}
