/**
 * A Redis Cluster (REDIS_CLUSTER_NODES): what `RedisClients` is for one Redis.
 *
 * - Keyed commands go through the cluster client, which sends each to its slot's master and
 *   follows MOVED (resharded) and ASK (mid-migration); its topology is asked again when a node
 *   stops answering for a second (a failover).
 * - Per-room channels are sharded (SPUBLISH/SSUBSCRIBE): a room's presence is carried by its
 *   slot's master only. Node-wide channels (access events, heartbeats) are classic pub/sub,
 *   which every master forwards to every node: few messages, heard everywhere.
 * - Blocking reads get one connection pair per bucket followed (slot-reader.ts): at most
 *   REDIS_CLUSTER_BUCKETS per node.
 * - An append is acknowledged once a replica of its master holds it (WAIT; REDIS_WAIT_REPLICAS):
 *   a replica promoted in a failover has every acknowledged update.
 *
 * Up means: every master answers a PING within `timeoutMs`, and every bucket reader's reads are
 * answered in time.
 */
import { createCluster } from '@redis/client'
import { BackgroundFailures, BackgroundLoop } from '../background-loop.ts'
import type { Logger } from '../logger.ts'
import type { BinaryKeyedCommands, BlockingConnection, Channels, KeyedCommands, RedisBackend } from './redis-backend.ts'
import { BUFFERS, DEFAULT_LIVENESS, logErrors, reconnectDelay, RedisTimeoutError, withDeadline, type RedisLiveness } from './redis-clients.ts'
import { bucketedKeyspace, keySlot, type RedisKeyspace } from './redis-keyspace.ts'
import { SlotReader, type SlotMasterSource } from './slot-reader.ts'

/** How long a node may fail to reconnect before the cluster's topology is asked again. */
const TOPOLOGY_REFRESH_AFTER_MS = 1_000

/** Commands are bounded by `timed` (the cluster's node clients take no default command timeout). */
function newCluster(urls: string[]) {
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: reconnectDelay },
    },
    topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_AFTER_MS,
  })
}

export type RedisCluster = ReturnType<typeof newCluster>

export class RedisClusterClients implements RedisBackend {
  readonly cluster: RedisCluster
  readonly liveness: RedisLiveness
  /**
   * The cluster client offers the same keyed commands as a single-Redis client, routed by their
   * first key; the types differ only in generics, so it is seen through the keyed subset here.
   */
  readonly keyed: KeyedCommands
  readonly binaryKeyed: BinaryKeyedCommands
  readonly nodeChannels: Channels
  readonly roomChannels: Channels
  private readonly buckets: number
  private readonly logger: Logger
  private readonly readers = new Map<number, SlotReader>()
  private readonly readersAnswering = new Map<number, boolean>()
  private readonly healthListeners = new Set<(up: boolean) => void>()
  private readonly probe: BackgroundLoop
  private mastersAnswering = false
  private up = false

  private constructor(cluster: RedisCluster, liveness: RedisLiveness, buckets: number, logger: Logger) {
    this.cluster = cluster
    this.liveness = liveness
    this.buckets = buckets
    this.logger = logger
    this.keyed = cluster as unknown as KeyedCommands
    this.binaryKeyed = cluster.withTypeMapping(BUFFERS) as unknown as BinaryKeyedCommands
    this.nodeChannels = {
      publish: (channel, message) => cluster.publish(channel, message),
      subscribe: (channel, listener) => cluster.subscribe<true>(channel, listener, true),
      unsubscribe: (channel, listener) => cluster.unsubscribe(channel, listener as (message: Buffer | string) => void, true),
    }
    this.roomChannels = {
      publish: (channel, message) => cluster.sPublish(channel, message),
      subscribe: (channel, listener) => cluster.sSubscribe<true>(channel, listener, true),
      unsubscribe: (channel, listener) => cluster.sUnsubscribe(channel, listener as (message: Buffer | string) => void, true),
    }
    this.probe = new BackgroundLoop(() => this.pingMasters(), { name: 'redis-ping-masters', everyMs: liveness.pingEveryMs, logger, failures: liveness.failures })
    cluster.on('node-reconnecting', () => this.setMasters(false))
    cluster.on('node-ready', () => void this.probe.runNow())
  }

  static async connect(urls: string[], logger: Logger, options: Partial<RedisLiveness> & { buckets: number }): Promise<RedisClusterClients> {
    const liveness: RedisLiveness = { ...DEFAULT_LIVENESS, failures: new BackgroundFailures(), ...options }
    const cluster = newCluster(urls)
    logErrors(cluster, 'cluster', logger)
    const clients = new RedisClusterClients(cluster, liveness, options.buckets, logger)
    await cluster.connect()
    clients.setMasters(true)
    clients.probe.start()
    return clients
  }

  keyspace(prefix: string): RedisKeyspace {
    return bucketedKeyspace(prefix, this.buckets)
  }

  blockingReader(bucket: number): BlockingConnection {
    let reader = this.readers.get(bucket)
    if (!reader) {
      const tags = bucketedKeyspace('', this.buckets)
      reader = new SlotReader(tags.slotOf(bucket), this.masterSource(tags.bucketKey('probe', bucket)), { timeoutMs: this.liveness.timeoutMs, readBlockMs: this.liveness.readBlockMs, logger: this.logger })
      this.readers.set(bucket, reader)
    }
    return reader
  }

  timed<T>(command: Promise<T>, what = 'redis command'): Promise<T> {
    return withDeadline(command, this.liveness.timeoutMs, what)
  }

  async replicated(key: string): Promise<void> {
    const wanted = this.replicasWanted(key)
    if (wanted === 0) return
    // Sent on the cluster's connection to the key's master, behind the write it waits for.
    const acked = Number(await this.timed(this.cluster.sendCommand(key, false, ['WAIT', String(wanted), String(this.liveness.timeoutMs)]), 'WAIT'))
    if (acked < wanted) throw new RedisTimeoutError(`WAIT: ${acked} of ${wanted} replicas took the write within ${this.liveness.timeoutMs} ms`)
  }

  reportReader(bucket: number, answering: boolean): void {
    if (this.readersAnswering.get(bucket) === answering) return
    this.readersAnswering.set(bucket, answering)
    if (!answering) this.logger.warn({ bucket }, 'redis stream reader not answering')
    this.update()
  }

  isUp(): boolean {
    return this.up
  }

  commandsReady(): boolean {
    return this.cluster.isReady && this.mastersAnswering
  }

  onHealth(listener: (up: boolean) => void): () => void {
    this.healthListeners.add(listener)
    return () => this.healthListeners.delete(listener)
  }

  onCommandsReady(listener: () => void): void {
    this.cluster.on('node-ready', listener)
  }

  onSubscriberReconnect(listener: () => void): void {
    let lost = false
    this.cluster.on('node-reconnecting', () => { lost = true })
    this.cluster.on('node-ready', () => {
      if (lost) listener()
      lost = false
    })
  }

  async close(): Promise<void> {
    await this.probe.stop()
    await Promise.allSettled([...this.readers.values()].map((reader) => reader.close()))
    await this.cluster.close().catch(() => this.cluster.destroy())
  }

  private replicasWanted(key: string): number {
    if (this.liveness.waitReplicas !== 'auto') return this.liveness.waitReplicas
    const shard = this.cluster.slots[keySlot(key)]
    return (shard?.replicas?.length ?? 0) > 0 ? 1 : 0
  }

  /** Where a bucket's slot is served; `probeKey` is a key of that slot. */
  private masterSource(probeKey: string): SlotMasterSource {
    return {
      masterOf: (slot) => {
        const master = this.cluster.slots[slot]?.master
        return master ? { host: master.host, port: master.port } : undefined
      },
      rediscover: async () => {
        // A keyed command on the slot follows MOVED, which refreshes the cluster client's slot map
        // (a master that stopped answering gets it refreshed by the client's reconnection tracker).
        await this.timed(this.cluster.sendCommand(probeKey, true, ['EXISTS', probeKey]), 'slot probe').catch(() => undefined)
      },
    }
  }

  /** Every master answers a PING in time, or Redis counts as down. */
  private async pingMasters(): Promise<void> {
    try {
      const masters = this.cluster.masters
      if (masters.length === 0) throw new Error('no master known')
      await Promise.all(masters.map(async (master) => this.timed((await this.cluster.nodeClient(master)).ping(), `PING ${master.address}`)))
      this.setMasters(true)
    } catch (error) {
      this.setMasters(false)
      throw error
    }
  }

  private setMasters(answering: boolean): void {
    if (this.mastersAnswering === answering) return
    this.mastersAnswering = answering
    if (!answering) this.logger.warn('a redis cluster master is not answering')
    this.update()
  }

  private update(): void {
    const up = this.mastersAnswering && [...this.readersAnswering.values()].every(Boolean)
    if (this.up === up) return
    this.up = up
    this.logger.info({ up }, up ? 'redis cluster answering again' : 'redis cluster down')
    for (const listener of this.healthListeners) listener(up)
  }
}

