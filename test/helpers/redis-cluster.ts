/**
 * A real Redis Cluster on free ports for tests: `masters` redis-servers with
 * `--cluster-enabled yes` (plus `replicas` per master), joined by `redis-cli --cluster create`.
 * Each node persists with AOF (fsync always), as the README asks. Nodes can be killed (SIGKILL)
 * and slots moved with `redis-cli --cluster reshard`, as an operator would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, waitForPort } from './ports.ts'
import { waitFor } from './wait.ts'

const run = promisify(execFile)

/** A failed master is noticed (and its replica promoted) after this; short, so tests are quick. */
export const CLUSTER_NODE_TIMEOUT_MS = 1_000

export interface ClusterNode {
  port: number
  address: string
  kill(): Promise<void>
}

export interface RedisCluster {
  /** REDIS_CLUSTER_NODES for the servers. */
  seeds: string
  nodes: ClusterNode[]
  /** `redis-cli` against any live node. */
  cli(...args: string[]): Promise<string>
  /** The address (`127.0.0.1:port`) serving `slot` now, as the cluster says. */
  masterOf(slot: number): Promise<string>
  /** Node id of the node at `address`. */
  idOf(address: string): Promise<string>
  /** Moves `count` slots from master `from` to master `to` with `redis-cli --cluster reshard` (it takes the lowest first). */
  reshard(count: number, from: string, to: string): Promise<void>
  /** Resolves once every live node reports cluster_state:ok. */
  settled(): Promise<void>
  destroy(): Promise<void>
}

export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const replicas = options.replicas ?? 0
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-cluster-'))
  const ports = await distinctFreePorts(masters * (1 + replicas))
  const busPorts = await distinctFreePorts(ports.length, new Set(ports))
  const children = new Map<number, ChildProcess>()
  await Promise.all(ports.map(async (port, i) => {
    children.set(port, spawnNode(port, busPorts[i] as number, dir))
    await waitForPort(port, 10_000)
  }))
  const live = (): number[] => ports.filter((port) => children.has(port))
  const cli = async (...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(live()[0]), ...args])).stdout
  const cluster: RedisCluster = {
    seeds: ports.map((port) => `redis://127.0.0.1:${port}`).join(','),
    nodes: ports.map((port) => ({
      port,
      address: `127.0.0.1:${port}`,
      kill: async () => {
        const child = children.get(port)
        children.delete(port)
        if (!child || child.exitCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      },
    })),
    cli,
    masterOf: async (slot) => {
      for (const line of (await cli('cluster', 'nodes')).split('\n')) {
        const [, address, flags, , , , , state, ...ranges] = line.split(' ')
        if (!flags?.includes('master') || flags.includes('fail') || state !== 'connected') continue
        if (ranges.some((range) => inRange(range, slot))) return (address as string).split('@')[0] as string
      }
      throw new Error(`no master serves slot ${slot}`)
    },
    idOf: async (address) => (await run('redis-cli', ['-p', address.split(':')[1] as string, 'cluster', 'myid'])).stdout.trim(),
    reshard: async (count, from, to) => {
      const [fromId, toId] = await Promise.all([cluster.idOf(from), cluster.idOf(to)])
      await run('redis-cli', ['--cluster', 'reshard', from, '--cluster-from', fromId, '--cluster-to', toId, '--cluster-slots', String(count), '--cluster-yes'], { maxBuffer: 16 * 1024 * 1024 })
    },
    settled: async () => { await waitFor(async () => {
      const states = await Promise.all(live().map(async (port) => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout))
      return states.every((info) => info.includes('cluster_state:ok'))
    }, 30_000, 'every redis cluster node reports cluster_state:ok') },
    destroy: async () => {
      await Promise.all(cluster.nodes.map((node) => node.kill()))
      await rm(dir, { recursive: true, force: true })
    },
  }
  try {
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'])
    await cluster.settled()
    if (replicas > 0) await waitFor(async () => (await cli('cluster', 'nodes')).split('\n').filter((l) => l.includes('slave')).length === masters * replicas, 30_000, 'replicas attached')
  } catch (error) {
    await cluster.destroy()
    throw error
  }
  return cluster
}

/**
 * A replica that lost its master's link for longer than node-timeout × the validity factor (10)
 * plus the replication ping period (10 s) never fails over. CI once saw no master for the slot
 * 30 s after the kill, on a machine loaded by other work; a replica whose link was down (a
 * resync) when its master died is the likely cause, as no log was kept then (each node now logs
 * to redis.log in its directory). Factor 0 lets a replica fail over whatever its lag; nothing
 * acknowledged can be lost by it, since the server acknowledges a write only once a replica
 * holds it (WAIT).
 */
function spawnNode(port: number, busPort: number, dir: string): ChildProcess {
  const nodeDir = path.join(dir, String(port))
  return spawn('sh', ['-c', `mkdir -p ${nodeDir} && exec redis-server --port ${port} --bind 127.0.0.1 --dir ${nodeDir} --logfile ${nodeDir}/redis.log --save '' --appendonly yes --appendfsync always --maxmemory-policy noeviction --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port ${busPort} --cluster-node-timeout ${CLUSTER_NODE_TIMEOUT_MS} --cluster-replica-validity-factor 0`], { stdio: 'ignore' })
}

async function distinctFreePorts(count: number, taken = new Set<number>()): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) {
    const port = await freePort()
    if (!taken.has(port)) ports.add(port)
  }
  return [...ports]
}

function inRange(range: string, slot: number): boolean {
  if (range.startsWith('[')) return false // a slot being migrated or imported
  const [from, to = from] = range.split('-').map(Number)
  return slot >= (from as number) && slot <= (to as number)
}
