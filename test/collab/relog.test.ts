/**
 * Relogging after the log lost its entries (a Redis without persistence restarted empty) never
 * stalls the node (issue 19, finding 5). The hot room writes again what it holds beyond its
 * snapshot, as far as the writer's queue takes it. It used to do that in a loop that waited for
 * the queue to drain: when the log went down meanwhile, or when one kept update was larger than
 * the whole queue, the drain resolved at once, the loop never yielded, and the node hung at 100%
 * CPU. Now what the log lost is owed, written as the queue takes it and when the log is back, and
 * an empty queue takes a write of any size.
 *
 * Real server process (a hung node must fail the test, not hang it), a private Redis without
 * persistence, the run's MongoDB. The writer's queue is 4 KiB (MAX_PAYLOAD_BYTES 1 KiB). Nothing
 * compacts and the room stays in memory without sockets, so what the log holds after the reset
 * can only come from the room's relog, and no client can put anything back.
 */
import net from 'node:net'
import pino from 'pino'
import { afterEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { docJson } from '../helpers/docs.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import type { ServerProcess } from '../helpers/process.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

const QUEUE_BYTES = 4 * 1024
const NODE_ENV: Record<string, string> = {
  LOG_LEVEL: 'info', // "redis down" is an info line
  MAX_PAYLOAD_BYTES: String(QUEUE_BYTES / 4), // the writer's queue holds 4 payloads
  REDIS_TIMEOUT_MS: '1500',
  COMPACT_EVERY_UPDATES: '1000000',
  COMPACT_IDLE_MS: '3600000',
  COMPACT_SWEEP_MS: '3600000',
  ROOM_GRACE_MS: '3600000',
}

let cluster: TestCluster | undefined
let durable: DurableView | undefined
let proxy: TcpProxy | undefined
let trap: Trap | undefined
const clients: Client[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await durable?.close()
  await cluster?.close() // SIGKILL: a node hung on its event loop cannot stop otherwise
  await trap?.close()
  await proxy?.close()
  cluster = durable = proxy = trap = undefined
})

/**
 * A pass-through TCP hop that, once armed, silences `proxy` (behind it) the moment the node sends
 * Redis a command carrying `marker`: that command and everything after it, both ways, are held.
 */
interface Trap {
  port: number
  arm(marker: string, onSprung: () => void): void
  close(): Promise<void>
}

async function startTrap(proxy: TcpProxy): Promise<Trap> {
  let armed: { marker: Buffer; onSprung: () => void } | null = null
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(proxy.port, '127.0.0.1')
    sockets.add(client).add(upstream)
    let tail = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      if (armed) {
        const seen = Buffer.concat([tail, chunk])
        if (seen.includes(armed.marker)) {
          const { onSprung } = armed
          armed = null
          proxy.blackhole() // before the command reaches it
          onSprung()
        } else {
          tail = seen.subarray(Math.max(0, seen.length - armed.marker.length))
        }
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', drop)
      socket.on('close', drop)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    arm: (marker, onSprung) => { armed = { marker: Buffer.from(marker), onSprung } },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}

/** One node on a Redis without persistence, reaching it through trap → proxy. */
async function startNode(): Promise<{ node: ServerProcess; owner: TestUser; canvas: string }> {
  cluster = await startCluster(1, NODE_ENV, {
    persistentRedis: false,
    beforeNodes: async (redis) => {
      proxy = await startTcpProxy(redis.port)
      trap = await startTrap(proxy)
    },
    nodeEnv: () => ({ REDIS_URL: `redis://127.0.0.1:${trap!.port}` }),
  })
  durable = await durableView(cluster.env) // straight to Redis and MongoDB
  const api = cluster.api(0)
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  return { node: cluster.nodes[0]!, owner, canvas: group.rooms.canvas }
}

/** Logs `updates` for `room` as a node would have (one entry per hundred), straight to Redis. */
async function seedLog(room: string, writer: TestUser, updates: Uint8Array[]): Promise<void> {
  const silent = pino({ level: 'silent' })
  const redisClients = await RedisClients.connect(cluster!.env.REDIS_URL!, silent)
  try {
    const log = new RedisLog(redisClients, { prefix: 'collab:', minEntryAgeMs: 60_000, logger: silent })
    for (let i = 0; i < updates.length; i += 100) await log.append(room, updates.slice(i, i + 100).map((update) => ({ writer: writer.id, update })))
  } finally {
    await redisClients.close()
  }
}

/**
 * Loads the room on the node: a client joins and gets `expected`. With `leave` it leaves at once
 * (the room stays: ROOM_GRACE_MS is an hour), so no client can put anything back.
 */
async function loadRoom(node: ServerProcess, room: string, user: TestUser, expected: Y.Doc, leave = true): Promise<Client> {
  const client = await connectSynced(node.collabUrl, room, { token: user.token })
  clients.push(client)
  await waitFor(() => JSON.stringify(docJson(client.doc)) === JSON.stringify(docJson(expected)), 20_000, 'the room loaded')
  if (leave) {
    client.destroy()
    clients.splice(clients.indexOf(client), 1)
  }
  return client
}

/**
 * Redis restarts empty; resolves once the node has noticed (and its rooms started relogging),
 * with the index of the node's first log line after it.
 */
async function restartRedisEmpty(node: ServerProcess): Promise<number> {
  const before = node.logs.length
  await cluster!.redis.stop('SIGKILL')
  await cluster!.redis.start()
  return waitFor(() => {
    const at = node.logs.findIndex((line, i) => i >= before && line.includes('redis lost its data'))
    return at >= 0 ? at + 1 : null
  }, 20_000, 'the node noticed that Redis lost its data')
}

/** The status of a request the node must answer (null: no answer within 5 s, e.g. a hung event loop). */
async function answers(node: ServerProcess, path: string): Promise<number | null> {
  return fetch(`${node.url}${path}`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => null)
}

function messageOf(line: string): string {
  try {
    return String((JSON.parse(line) as { msg?: unknown }).msg)
  } catch {
    return ''
  }
}

/** Whether snapshot + log hold `expected`; throws saying what they hold instead. */
async function holds(canvas: string, expected: Y.Doc): Promise<true> {
  const held = await durable!.load(canvas)
  if (JSON.stringify(docJson(held)) === JSON.stringify(docJson(expected))) return true
  throw new Error(`snapshot + log hold strokes of ${JSON.stringify(readStrokes(held).map((s) => s.points.length))} points`)
}

/** The log holds `expected` again (only the log: nothing was ever compacted). */
async function loggedAgain(canvas: string, expected: Y.Doc): Promise<void> {
  await waitFor(() => holds(canvas, expected), 20_000, 'the log holding everything again')
  expect(await durable!.snapshot(canvas)).toBeNull() // from the log: nothing was ever compacted
}

it('keeps answering while the log goes down in the middle of a relog, and relogs everything once it is back', async () => {
  const { node, owner, canvas } = await startNode()
  // About 50 KiB in 2,000 updates, logged before the room is loaded here (as other nodes would
  // have): the relog needs a dozen queues of 4 KiB. The first update carries a marker the trap
  // recognizes when the relog writes it again.
  const marker = `relog-${Math.random().toString(36).slice(2)}`
  const source = new Y.Doc()
  const updates: Uint8Array[] = []
  source.on('update', (update: Uint8Array) => updates.push(update))
  const stroke = addStroke(source, { id: marker, author: owner.id, color: '#205080', width: 2, tool: 'pen', points: [[0, 0]] })
  for (let i = 1; i <= 2_000; i++) appendPoints(stroke, [[i, i % 97]])
  await seedLog(canvas, owner, updates)
  await loadRoom(node, canvas, owner, source)

  // Redis comes back empty; the relog's first append (it carries the marker) silences the path.
  let sprung = false
  trap!.arm(marker, () => { sprung = true })
  const afterReset = await restartRedisEmpty(node)
  await waitFor(() => sprung, 20_000, 'the relog wrote the marked update again')

  // The node reports the log down, and an append the relog had in flight fails after that: the
  // moment the old loop found its drain resolved with the log down and spun for good.
  await waitFor(() => {
    const lines = node.logs.slice(afterReset).map(messageOf) // the restart's own "redis down" came before
    const down = lines.indexOf('redis down')
    return down >= 0 && lines.slice(down + 1).some((m) => m.startsWith('log append failed'))
  }, 20_000, 'the log reported down, then a relog append failed')
  expect(await answers(node, '/healthz'), 'the node answers /healthz while the log is down').toBe(200)
  expect(await answers(node, '/readyz'), 'the node answers /readyz, saying the log is down').toBe(503)
  expect(await answers(node, '/healthz'), 'and still answers').toBe(200)

  // The path heals: everything the room holds is in the log again.
  proxy!.heal()
  await waitFor(async () => (await answers(node, '/readyz')) === 200, 20_000, 'the node ready again')
  await loggedAgain(canvas, source)
  expect(readStrokes(await durable!.load(canvas))[0]?.points).toHaveLength(2_001)
}, 120_000)

it('relogs a kept update larger than the writer\'s whole queue', async () => {
  const { node, owner, canvas } = await startNode()
  // A stroke logged in one update of ~17 KiB, four times the queue (as a node with a larger
  // MAX_PAYLOAD_BYTES could have logged it), before the room is loaded here.
  const source = new Y.Doc()
  const points = Array.from({ length: 3_000 }, (_, i) => [i, (i * 7) % 1000] as const)
  addStroke(source, { author: owner.id, color: '#802050', width: 2, tool: 'pen', points })
  const big = Y.encodeStateAsUpdate(source)
  expect(big.length).toBeGreaterThan(2 * QUEUE_BYTES)
  await seedLog(canvas, owner, [big])
  // The room is loaded here (it keeps the big update), and takes a small stroke from a client.
  const writer = await loadRoom(node, canvas, owner, source, false)
  addStroke(writer.doc, { author: owner.id, color: '#208050', width: 2, tool: 'pen', points: [[1, 1], [2, 2]] })
  const expected = new Y.Doc()
  Y.applyUpdate(expected, Y.encodeStateAsUpdate(writer.doc))
  await waitFor(async () => readStrokes(await durable!.load(canvas)).length === 2, 20_000, 'the small stroke logged')
  writer.destroy() // no client can put anything back: only the room holds the updates
  clients.length = 0

  await cluster!.redis.stop('SIGKILL')
  await cluster!.redis.start()
  // The node answers all along (the old loop spun at once here, with the log up), and the log
  // holds both strokes again.
  await waitFor(async () => {
    if ((await answers(node, '/healthz')) !== 200) throw new Error('the node does not answer /healthz')
    return holds(canvas, expected)
  }, 20_000, 'the node answering, and the log holding everything again')
  await loggedAgain(canvas, expected)
  expect(readStrokes(await durable!.load(canvas)).map((s) => s.points.length)).toEqual([3_000, 2])
  expect(await answers(node, '/healthz')).toBe(200)
}, 120_000)
