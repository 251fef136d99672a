/**
 * The rig every fault test runs on: real server processes (strict about unhandled rejections),
 * a private Redis and a private MongoDB-wire server, each node reaching them through its own TCP
 * proxy (so one node's path can go silent), stock WebsocketProvider clients drawing on every
 * node throughout, REST chat posts with ids throughout, and every node's /readyz sampled
 * throughout. `assertRecovered` is what must hold after any fault.
 *
 * Timers are set short (FAULT_TIMERS) so that every fault, lasting FAULT_MS, outlasts all of
 * them: the Redis and MongoDB deadlines (1.5 s), the compaction sweep (1 s), idle compaction
 * (0.5 s), the compaction lease (2 s), room grace (1 s), the minimum stream entry age (1 s),
 * socket pings (1 s), the revocation deadline (4 s), and the server's fixed presence timers
 * (heartbeat 2 s, a node silent 7 s counts as dead).
 */
import { expect } from 'vitest'
import * as Y from 'yjs'
import type { GroupResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { startBalancer, type Balancer } from '../helpers/balancer.ts'
import { connectClient, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

export const FAULT_TIMERS: Record<string, string> = {
  REDIS_TIMEOUT_MS: '1500',
  MONGODB_TIMEOUT_MS: '1500',
  COMPACT_SWEEP_MS: '1000',
  COMPACT_IDLE_MS: '500',
  COMPACT_EVERY_UPDATES: '100',
  COMPACT_LEASE_TTL_MS: '2000',
  ROOM_GRACE_MS: '1000',
  REDIS_MIN_ENTRY_AGE_MS: '1000',
  PING_INTERVAL_MS: '1000',
  REVOCATION_DEADLINE_MS: '4000',
  ACCESS_CACHE_TTL_MS: '4000',
  SHUTDOWN_TIMEOUT_MS: '5000',
  MESSAGE_RATE_LIMIT_PER_MINUTE: '100000',
}

/** How long every fault lasts: longer than every timer above and the fixed presence timers (7 s). */
export const FAULT_MS = 10_000

export interface Readiness {
  at: number
  node: number
  status: number
  storage: string
  log: string
}

export interface FaultRig {
  cluster: TestCluster
  mongo: MongoWire
  redisProxies: TcpProxy[]
  mongoProxies: TcpProxy[]
  balancer: Balancer
  owner: TestUser
  group: GroupResponse
  /** One canvas client per node, connected through the balancer pinned to that node. */
  editors: Client[]
  /** One chat client per node (they only watch). */
  watchers: Client[]
  /** Stroke ids each editor drew. */
  drawn: string[]
  /** Chat message ids a node acknowledged (201, or 200 for a repeat). */
  acknowledged: Set<string>
  readiness: Readiness[]
  startEditing(): void
  stopEditing(): Promise<void>
  /** First time `node` reported `what` down at or after `since` (ms since epoch), or null. */
  firstDown(node: number, what: 'storage' | 'log', since: number): number | null
  close(): Promise<void>
}

export interface RigOptions {
  nodes?: number
  persistentRedis?: boolean
  /** Start the nodes with MongoDB stopped; `whileDown` runs, then MongoDB starts. */
  mongoDownAtStart?: { whileDown(cluster: TestCluster): Promise<void> }
  env?: Record<string, string>
}

export async function startFaultRig(options: RigOptions = {}): Promise<FaultRig> {
  const size = options.nodes ?? 2
  const mongo = await startMongoWire()
  const mongoProxies = await Promise.all(Array.from({ length: size }, () => startTcpProxy(Number(new URL(mongo.url).port))))
  const redisPort = { value: 0 }
  const redisProxies: TcpProxy[] = []
  if (options.mongoDownAtStart) await mongo.stop()
  const cluster = await startCluster(size, { ...FAULT_TIMERS, MONGODB_URL: mongo.url, MONGODB_DB: uniqueDbName(), ...options.env }, {
    persistentRedis: options.persistentRedis ?? true,
    nodeEnv: (index) => ({ REDIS_URL: redisProxies[index]!.url(`redis://127.0.0.1:${redisPort.value}`), MONGODB_URL: mongoProxies[index]!.url(mongo.url) }),
    beforeNodes: async (redis) => {
      redisPort.value = redis.port
      redisProxies.push(...await Promise.all(Array.from({ length: size }, () => startTcpProxy(redis.port))))
    },
  })
  if (options.mongoDownAtStart) {
    await options.mongoDownAtStart.whileDown(cluster)
    await mongo.start()
  }
  const api = cluster.api(0)
  await waitFor(async () => (await fetch(`${cluster.nodes[0]!.url}/readyz`)).ok, 30_000, 'node 0 ready')
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  const balancer = await startBalancer([])
  return newRig({ cluster, mongo, redisProxies, mongoProxies, balancer, owner, group })
}

async function newRig(parts: Pick<FaultRig, 'cluster' | 'mongo' | 'redisProxies' | 'mongoProxies' | 'balancer' | 'owner' | 'group'>): Promise<FaultRig> {
  const { cluster, owner, group, balancer } = parts
  const rig: FaultRig = {
    ...parts,
    editors: [],
    watchers: [],
    drawn: [],
    acknowledged: new Set(),
    readiness: [],
    startEditing: () => {
      running = true
      loops.push(drawLoop(rig, () => running), chatLoop(rig, () => running), readinessLoop(rig, () => sampling))
    },
    stopEditing: async () => {
      running = false
      await Promise.all(loops.splice(0, 2))
    },
    firstDown: (node, what, since) => rig.readiness.find((r) => r.node === node && r.at >= since && r[what] === 'down')?.at ?? null,
    close: async () => {
      running = false
      sampling = false
      await Promise.all(loops)
      for (const client of [...rig.editors, ...rig.watchers]) client.destroy()
      await balancer.close()
      await Promise.all([...parts.redisProxies, ...parts.mongoProxies].map((proxy) => proxy.close()))
      try {
        await cluster.close()
      } finally {
        await parts.mongo.destroy()
      }
    },
  }
  let running = false
  let sampling = true
  const loops: Array<Promise<void>> = []
  // Clients reach node i through the balancer, placed there one node at a time; afterwards the
  // balancer spreads reconnects over every node (a dead node's clients move on).
  for (const node of cluster.live()) {
    balancer.setBackends([node.port])
    const editor = connectClient(balancer.collabUrl, group.rooms.canvas, { token: owner.token })
    const watcher = connectClient(balancer.collabUrl, group.rooms.chat, { token: owner.token })
    rig.editors.push(editor)
    rig.watchers.push(watcher)
    await Promise.all([editor.synced(), watcher.synced()])
  }
  openBalancer(rig)
  return rig
}

async function drawLoop(rig: FaultRig, going: () => boolean): Promise<void> {
  await Promise.all(rig.editors.map((client) => client.synced()))
  for (let i = 0; going(); i++) {
    rig.editors.forEach((client, n) => {
      const id = `n${n}-s${i}`
      addStroke(client.doc, { author: rig.owner.id, color: '#204060', width: 2, tool: 'pen', id, points: [[i % 500, n]] })
      rig.drawn.push(id)
    })
    await sleep(100)
  }
}

async function chatLoop(rig: FaultRig, going: () => boolean): Promise<void> {
  for (let i = 0; going(); i++) {
    const live = rig.cluster.nodes.filter((n) => n !== null)
    const node = live[i % live.length]!
    const id = `fault-message-${i}`
    try {
      const response = await fetch(`${node.url}/groups/${rig.group.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.owner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, text: `message ${i}` }),
        signal: AbortSignal.timeout(5_000),
      })
      if (response.status === 201 || response.status === 200) rig.acknowledged.add(id)
      await response.body?.cancel()
    } catch {
      // unacknowledged: the test expects nothing of it
    }
    await sleep(300)
  }
}

async function readinessLoop(rig: FaultRig, going: () => boolean): Promise<void> {
  while (going()) {
    await Promise.all(rig.cluster.nodes.map(async (node, index) => {
      if (!node) return
      try {
        const response = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(2_000) })
        const body = (await response.json()) as { storage: string; log: string }
        rig.readiness.push({ at: Date.now(), node: index, status: response.status, storage: body.storage, log: body.log })
      } catch {
        // a killed node does not answer
      }
    }))
    await sleep(200)
  }
}

/** Opens the balancer to every live node (clients of a dead node reconnect elsewhere). */
export function openBalancer(rig: FaultRig): void {
  rig.balancer.setBackends(rig.cluster.live().map((node) => node.port))
}

/**
 * After the fault: every process is up (but `killed`), every node ready, every client has every
 * edit and the same document, the stored snapshots equal the clients, and every acknowledged
 * chat message is there.
 */
export async function assertRecovered(rig: FaultRig, label: string): Promise<void> {
  for (const node of rig.cluster.live()) {
    expect(node.child.exitCode, `${label}: node exited`).toBeNull()
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200)
  }
  await waitFor(async () => (await Promise.all(rig.cluster.live().map((n) => fetch(`${n.url}/readyz`)))).every((r) => r.ok), 30_000, `${label}: every node ready`)
  const before = rig.acknowledged.size
  await waitFor(() => rig.acknowledged.size >= before + 3, 20_000, `${label}: chat posts acknowledged again`)
  await rig.stopEditing()
  const editors = rig.editors
  const watchers = rig.watchers
  await waitFor(() => editors.every((c) => readStrokes(c.doc).length === rig.drawn.length), 30_000, `${label}: every editor has all ${rig.drawn.length} strokes`).catch((error: Error) => {
    const missing = editors.map((c) => {
      const have = new Set(readStrokes(c.doc).map((s) => s.id))
      return rig.drawn.filter((id) => !have.has(id))
    })
    throw new Error(`${error.message}; missing per editor: ${missing.map((m) => `${m.length} (${m.slice(0, 5).join(' ')})`).join(', ')}`)
  })
  await waitFor(() => editors.every((c) => sameContent(c.doc, editors[0]!.doc)), 10_000, `${label}: editors converge`)
  const acknowledged = [...rig.acknowledged]
  expect(acknowledged.length, `${label}: some chat posts were acknowledged`).toBeGreaterThan(0)
  await waitFor(() => watchers.every((c) => {
    const ids = new Set(readAllMessages(c.doc).map((m) => m.id))
    return acknowledged.every((id) => ids.has(id))
  }), 30_000, `${label}: every acknowledged chat message (${acknowledged.length}) on every chat client`)
  await waitFor(() => watchers.every((c) => sameContent(c.doc, watchers[0]!.doc)), 10_000, `${label}: chat clients converge`)
  const durable = await durableView(rig.cluster.env)
  try {
    await snapshotEquals(durable, rig.group.rooms.canvas, editors[0]!.doc, `${label}: the canvas snapshot equals the clients`)
    await snapshotEquals(durable, rig.group.rooms.chat, watchers[0]!.doc, `${label}: the chat snapshot equals the clients`)
  } finally {
    await durable.close()
  }
}

/** Waits for the stored snapshot of `room` to hold what `client` holds; says what differs if not. */
async function snapshotEquals(durable: DurableView, room: string, client: Y.Doc, label: string): Promise<void> {
  try {
    await waitFor(async () => sameStored(await durable.snapshot(room), client), 30_000, label)
  } catch (error) {
    const stored = await durable.snapshot(room)
    const count = (doc: Y.Doc | null): string => doc === null ? 'no snapshot' : `${readStrokes(doc).length} strokes, ${readAllMessages(doc).length} messages`
    throw new Error(`${(error as Error).message}: snapshot has ${count(stored)}, clients ${count(client)}; stream holds ${await durable.streamLength(room)} entries`)
  }
}

function sameStored(stored: Y.Doc | null, client: Y.Doc): boolean {
  return stored !== null && JSON.stringify(docJson(stored)) === JSON.stringify(docJson(client))
}

/** Prints a fault's figures (the report quotes them). */
export function report(label: string, figures: Record<string, unknown>): void {
  console.info(`[fault ${label}] ${Object.entries(figures).map(([k, v]) => `${k}: ${String(v)}`).join('; ')}`)
}

export { durableView, type DurableView }
