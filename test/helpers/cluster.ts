/**
 * A real cluster for tests: a private redis-server, the run's MongoDB-wire server (its own
 * database), and N server processes sharing them, each with its own DATA_DIR.
 */
import { afterAll, beforeAll, inject } from 'vitest'
import type { GroupResponse } from '../../shared/api.ts'
import { createGroup, fetchApi, registerUser, type Api, type TestUser } from './api.ts'
import type { Client } from './clients.ts'
import { durableView, type DurableView } from './durable.ts'
import { uniqueDbName } from './backends.ts'
import { spawnServer, type ServerProcess } from './process.ts'
import { startRedisCluster, type RedisCluster } from './redis-cluster.ts'
import { startRedis, type RedisServer } from './redis-server.ts'
import { tempDir, TEST_JWT_SECRET } from './server.ts'

export interface TestCluster {
  /** The private Redis (on a Redis Cluster, a stand-in that refuses to be used: see `redisCluster`). */
  redis: RedisServer
  redisCluster: RedisCluster | null
  nodes: Array<ServerProcess | null>
  env: Record<string, string>
  api(node?: number): Api
  /** Starts (or restarts) node `index`. */
  startNode(index: number): Promise<ServerProcess>
  killNode(index: number, signal?: NodeJS.Signals): Promise<void>
  live(): ServerProcess[]
  close(): Promise<void>
}

export interface ClusterOptions {
  /** Settings for one node only (e.g. its REDIS_URL through a proxy). */
  nodeEnv?: (index: number) => Record<string, string>
  /** false: a Redis without persistence (a restart empties it). */
  persistentRedis?: boolean
  /** Runs once Redis is up, before any node starts (e.g. to put a proxy in front of it). */
  beforeNodes?: (redis: RedisServer) => Promise<void>
  /** Run on a real Redis Cluster of this shape instead of one Redis (REDIS_CLUSTER_NODES). */
  redisCluster?: { masters?: number; replicas?: number }
}

/** One Redis, or a Redis Cluster, and the settings that point nodes at it. */
async function startRedisFor(options: ClusterOptions): Promise<{ redis: RedisServer; redisCluster: RedisCluster | null; env: Record<string, string> }> {
  if (options.redisCluster) {
    const redisCluster = await startRedisCluster(options.redisCluster)
    return { redis: notSingleRedis(redisCluster), redisCluster, env: { REDIS_CLUSTER_NODES: redisCluster.seeds } }
  }
  const redis = await startRedis({ persistent: options.persistentRedis ?? true })
  await options.beforeNodes?.(redis)
  return { redis, redisCluster: null, env: { REDIS_URL: redis.url } }
}

function notSingleRedis(redisCluster: RedisCluster): RedisServer {
  const refuse = (): never => { throw new Error('this test cluster runs on a Redis Cluster: use redisCluster') }
  return { url: '', port: 0, stop: refuse, start: refuse, destroy: () => redisCluster.destroy() }
}

export async function startCluster(size: number, env: Record<string, string> = {}, options: ClusterOptions = {}): Promise<TestCluster> {
  const { redis, redisCluster, env: redisEnv } = await startRedisFor(options)
  const dirs = await Promise.all(Array.from({ length: size }, () => tempDir('collab-node-')))
  const shared: Record<string, string> = {
    ...redisEnv,
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DB: uniqueDbName(),
    JWT_SECRET: TEST_JWT_SECRET,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    ...env,
  }
  const nodes: Array<ServerProcess | null> = Array.from({ length: size }, () => null)
  const cluster: TestCluster = {
    redis,
    redisCluster,
    nodes,
    env: shared,
    api: (node = 0) => fetchApi((nodes[node] ?? cluster.live()[0]!).url),
    startNode: async (index) => {
      const node = await spawnServer({ ...shared, ...options.nodeEnv?.(index), DATA_DIR: dirs[index]!.path })
      nodes[index] = node
      return node
    },
    killNode: async (index, signal = 'SIGKILL') => {
      await nodes[index]?.kill(signal)
      nodes[index] = null
    },
    live: () => nodes.filter((n): n is ServerProcess => n !== null),
    close: async () => {
      const stopped = await Promise.allSettled(nodes.map((node) => node?.kill('SIGKILL')))
      await redis.destroy()
      await Promise.all(dirs.map((dir) => dir.remove()))
      const crashed = stopped.find((result) => result.status === 'rejected')
      if (crashed) throw crashed.reason // a node printed an unhandled error or died on its own
    },
  }
  try {
    await Promise.all(Array.from({ length: size }, (_, i) => cluster.startNode(i)))
  } catch (error) {
    await cluster.close() // a half-started cluster must not outlive the test
    throw error
  }
  return cluster
}

export interface ClusterContext {
  cluster: TestCluster
  owner: TestUser
  group: GroupResponse
  /** Present when asked for: the cluster's durable state (MongoDB + Redis), read directly. */
  durable: DurableView
  /** Clients to destroy after the file's tests. */
  clients: Client[]
}

/** A cluster for the enclosing file: started with one user owning one group, torn down after. */
export function useCluster(size: number, env: Record<string, string> = {}, options: { durable?: boolean; redisCluster?: ClusterOptions['redisCluster'] } = {}): ClusterContext {
  const context = { clients: [] as Client[] } as ClusterContext
  beforeAll(async () => {
    context.cluster = await startCluster(size, env, options.redisCluster ? { redisCluster: options.redisCluster } : {})
    if (options.durable) context.durable = await durableView(context.cluster.env)
    context.owner = await registerUser(context.cluster.api(0), 'Owner')
    context.group = await createGroup(context.cluster.api(0), context.owner)
  }, 60_000)
  afterAll(async () => {
    for (const client of context.clients) client.destroy()
    await context.durable?.close()
    await context.cluster?.close()
  })
  return context
}
