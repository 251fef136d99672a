/**
 * What connects this node to the others. One node: the embedded log, in-process events, a local
 * lease, no presence relay. With REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster):
 * Redis Streams, pub/sub events and presence, and a Redis lease, all over one set of connections.
 */
import path from 'node:path'
import { newId } from '../../shared/ids.ts'
import type { BackgroundFailures } from '../background-loop.ts'
import { LocalLease, type CompactionLease } from '../collab/compaction/compaction-lease.ts'
import type { Config } from '../config.ts'
import { LocalBus, type EventBus } from '../events/bus.ts'
import { RedisBus } from '../events/redis-bus.ts'
import { EmbeddedLog } from '../log/embedded-log.ts'
import { RedisLog } from '../log/redis-log.ts'
import type { UpdateLog } from '../log/types.ts'
import type { Logger } from '../logger.ts'
import { noRelay, RedisAwarenessRelay, type AwarenessRelay } from './awareness-relay.ts'
import { DEFAULT_FORMAT_TIMING, FormatNegotiator } from './format-negotiator.ts'
import { FormatRegistry } from './format-registry.ts'
import type { RedisBackend } from './redis-backend.ts'
import { RedisClients } from './redis-clients.ts'
import { RedisClusterClients } from './redis-cluster-clients.ts'
import { RedisLease } from './redis-lease.ts'

export interface Cluster {
  nodeId: string
  log: UpdateLog
  bus: EventBus
  lease: CompactionLease
  relay: AwarenessRelay
  /** Which formats this node sends other nodes, and who holds them back (wire-format.ts). */
  formats: FormatNegotiator
  close(): Promise<void>
}

export async function openCluster(config: Config, logger: Logger, failures: BackgroundFailures): Promise<Cluster> {
  const nodeId = newId()
  if (!config.redisUrl && !config.redisClusterNodes) {
    const log = await EmbeddedLog.open(path.join(config.dataDir, 'log'), { fsync: config.embeddedFsync, logger: logger.child({ module: 'log' }) })
    const bus = new LocalBus()
    const formats = new FormatNegotiator({ nodeId, generation: config.wireFormatCeiling, registry: null, logger })
    return { nodeId, log, bus, lease: new LocalLease(), relay: noRelay, formats, close: async () => { await bus.close(); await log.close() } }
  }
  const redisLogger = logger.child({ module: 'redis', node: nodeId })
  const clients = await connectRedis(config, redisLogger, failures)
  const prefix = config.redisPrefix
  const log = new RedisLog(clients, { prefix, minEntryAgeMs: config.redisMinEntryAgeMs, logger: redisLogger })
  const formats = await joinFormatRegistry(clients, config, nodeId, redisLogger, failures)
  const bus = await RedisBus.start(clients, { prefix, nodeId, logger: redisLogger, failures, formats })
  const relay = new RedisAwarenessRelay({
    roomChannels: clients.roomChannels, nodeChannels: clients.nodeChannels, isReady: () => clients.commandsReady(), keyspace: clients.keyspace(prefix), prefix, nodeId, logger: redisLogger, formats,
  })
  return {
    nodeId,
    log,
    bus,
    lease: new RedisLease(clients, { prefix, ttlMs: config.compactLeaseTtlMs, logger: redisLogger, failures }),
    relay,
    formats,
    close: async () => {
      await relay.close()
      await formats.close()
      await bus.close()
      await log.close()
      await clients.close()
    },
  }
}

/** One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). */
async function connectRedis(config: Config, logger: Logger, failures: BackgroundFailures): Promise<RedisBackend> {
  const liveness = { timeoutMs: config.redisTimeoutMs, waitReplicas: config.redisWaitReplicas, failures }
  if (config.redisClusterNodes) return RedisClusterClients.connect(config.redisClusterNodes, logger, { ...liveness, buckets: config.redisClusterBuckets })
  return RedisClients.connect(config.redisUrl as string, logger, liveness)
}

/** Announces this node's formats before it sends anything, so the others know what it reads. */
async function joinFormatRegistry(clients: RedisBackend, config: Config, nodeId: string, logger: Logger, failures: BackgroundFailures): Promise<FormatNegotiator> {
  const registry = new FormatRegistry({
    redis: clients.keyed, channels: clients.nodeChannels, prefix: config.redisPrefix, ttlMs: DEFAULT_FORMAT_TIMING.entryTtlMs, timed: (command) => clients.timed(command, 'format registry'),
  })
  const formats = new FormatNegotiator({ nodeId, generation: config.wireFormatCeiling, registry, logger: logger.child({ module: 'wire-formats' }), failures })
  await formats.start()
  clients.onSubscriberReconnect(() => formats.rejoin())
  return formats
}
