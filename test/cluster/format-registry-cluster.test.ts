/**
 * The format registry on a real Redis Cluster (three masters), through the same backend helpers
 * the nodes use: its keys share one slot, entries are listed, renewed and withdrawn, joins are
 * heard on the node-wide channel, and two nodes settle on the newest formats.
 */
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FormatNegotiator } from '../../server/cluster/format-negotiator.ts'
import { FormatRegistry } from '../../server/cluster/format-registry.ts'
import { RedisClusterClients } from '../../server/cluster/redis-cluster-clients.ts'
import { keySlot } from '../../server/cluster/redis-keyspace.ts'
import { CURRENT_GENERATION } from '../../server/cluster/wire-format.ts'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.ts'
import { waitFor } from '../helpers/wait.ts'

const logger = pino({ level: 'silent' })
const PREFIX = 'fmt:'
const TIMING = { heartbeatMs: 100, entryTtlMs: 1_000, legacySilentAfterMs: 1_000, startupWindowMs: 300 }
let redis: RedisCluster
const opened: RedisClusterClients[] = []

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3 })
}, 60_000)

afterAll(async () => {
  await Promise.all(opened.map((clients) => clients.close()))
  await redis?.destroy()
})

async function connect(): Promise<RedisClusterClients> {
  const clients = await RedisClusterClients.connect(redis.seeds.split(','), logger, { buckets: 4 })
  opened.push(clients)
  return clients
}

function registryOn(clients: RedisClusterClients): FormatRegistry {
  return new FormatRegistry({ redis: clients.keyed, channels: clients.nodeChannels, prefix: PREFIX, ttlMs: TIMING.entryTtlMs, timed: (command) => clients.timed(command) })
}

it('keeps every registry key in one slot and works through the cluster client', async () => {
  const [a, b] = [await connect(), await connect()]
  const onA = registryOn(a)
  const onB = registryOn(b)
  const told: string[] = []
  const stop = await onB.watch(() => told.push('changed'))
  await onA.announce('node-a', CURRENT_GENERATION, true)
  expect((await onB.list()).map((e) => e.node)).toEqual(['node-a'])
  await waitFor(() => told.length > 0, 5_000, 'the join heard on the node-wide channel')
  expect(keySlot(`${PREFIX}{registry}node:node-a`)).toBe(keySlot(`${PREFIX}{registry}nodes`))
  await onA.withdraw('node-a')
  expect(await onB.list()).toEqual([])
  await stop()
}, 30_000)

it('two nodes settle on the newest formats, and drop for an older registered node', async () => {
  const [a, b] = [await connect(), await connect()]
  const negotiators = [a, b].map((clients, i) => new FormatNegotiator({ nodeId: `node-${i}`, generation: CURRENT_GENERATION, registry: registryOn(clients), logger, timing: TIMING }))
  await Promise.all(negotiators.map((n) => n.start()))
  await waitFor(() => negotiators.every((n) => n.sending('presence') === 2 && n.status().nodes.length === 1), 10_000, 'both on the newest formats')
  await registryOn(a).announce('older', 1, true)
  await waitFor(() => negotiators.every((n) => n.sending('presence') === 1), 10_000, 'both dropped for the older node')
  await registryOn(a).withdraw('older')
  await waitFor(() => negotiators.every((n) => n.sending('presence') === 2), 10_000, 'up again')
  await Promise.all(negotiators.map((n) => n.close()))
}, 30_000)
