/**
 * Topology changes of a real Redis Cluster while stock clients on two server nodes draw:
 * - the master of the room's slot killed with SIGKILL and its replica promoted (a failover):
 *   /readyz says Redis is down while it is, and nothing acknowledged is lost (an update is
 *   acknowledged only once a replica holds it: REDIS_WAIT_REPLICAS=auto);
 * - the room's slot migrated to another master with `redis-cli --cluster reshard` (MOVED, ASK).
 * Afterwards every stroke drawn is on every client, on a fresh client of each node, and in the
 * cluster's durable state (MongoDB snapshot + Redis stream).
 */
import { afterEach, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import type { GroupResponse } from '../../shared/api.ts'
import { bucketedKeyspace } from '../../server/cluster/redis-keyspace.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { CLUSTER_NODE_TIMEOUT_MS } from '../helpers/redis-cluster.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const BUCKETS = 16
const keyspace = bucketedKeyspace('collab:', BUCKETS)
const ENV = { COMPACT_IDLE_MS: '300', COMPACT_SWEEP_MS: '1000', ROOM_GRACE_MS: '500', REDIS_MIN_ENTRY_AGE_MS: '1000', REDIS_TIMEOUT_MS: '1000', REDIS_CLUSTER_BUCKETS: String(BUCKETS) }

let cluster: TestCluster | undefined
let durable: DurableView | undefined
const clients: Client[] = []

afterEach(async () => {
  if (process.env.SHOW_NODE_LOGS) for (const node of cluster?.live() ?? []) process.stderr.write(`${node.logs.slice(-80).join('\n')}\n`)
  for (const client of clients.splice(0)) client.destroy()
  await durable?.close()
  await cluster?.close()
  cluster = undefined
  durable = undefined
})

interface Scene {
  cluster: TestCluster
  owner: TestUser
  room: string
  slot: number
  /** A canvas of another bucket on the same master (no node reads its bucket yet). */
  neighbour: string
}

/** Two nodes on a Redis Cluster, and a canvas whose bucket is `bucket` (or any). */
async function scene(redisCluster: { masters: number; replicas: number }, bucket?: number): Promise<Scene> {
  cluster = await startCluster(2, ENV, { redisCluster })
  durable = await durableView(cluster.env)
  const owner = await registerUser(cluster.api(0), 'Owner')
  const member = await registerUser(cluster.api(1), 'Member')
  let group: GroupResponse
  do group = await createGroup(cluster.api(0), owner)
  while (bucket !== undefined && keyspace.bucketOf(group.rooms.canvas) !== bucket)
  await addMember(cluster.api(0), owner, group.id, member, 'editor')
  const room = group.rooms.canvas
  const slot = keyspace.slotOf(keyspace.bucketOf(room))
  const master = await cluster.redisCluster!.masterOf(slot)
  const sameMaster = async (other: string): Promise<boolean> =>
    keyspace.bucketOf(other) !== keyspace.bucketOf(room) && (await cluster!.redisCluster!.masterOf(keyspace.slotOf(keyspace.bucketOf(other)))) === master
  let neighbour: GroupResponse
  do neighbour = await createGroup(cluster.api(0), owner)
  while (!(await sameMaster(neighbour.rooms.canvas)))
  return { cluster, owner, room, slot: keyspace.slotOf(keyspace.bucketOf(room)), neighbour: neighbour.rooms.canvas }
}

/** Clients on both nodes drawing uniquely named strokes until stopped. */
function drawing(scene: Scene, drawers: Client[]): { written: string[]; stop(): Promise<void> } {
  const written: string[] = []
  let editing = true
  const loops = drawers.map(async (client, n) => {
    for (let i = 0; editing; i++) {
      const stroke = addStroke(client.doc, { author: scene.owner.id, color: '#123456', width: 2, tool: 'pen', id: `d${n}-${i}`, points: [[i, n]] })
      written.push(stroke.get('id') as string)
      await sleep(10)
    }
  })
  return { written, stop: async () => { editing = false; await Promise.all(loops) } }
}

async function on(node: number, scene: Scene, room = scene.room): Promise<Client> {
  const client = await connectSynced(scene.cluster.nodes[node]!.collabUrl, room, { token: scene.owner.token })
  clients.push(client)
  return client
}

async function readiness(scene: Scene, node: number): Promise<{ status: number; log: string }> {
  const response = await fetch(`${scene.cluster.nodes[node]!.url}/readyz`)
  const body = await response.json() as { log: string }
  return { status: response.status, log: body.log }
}

/** Every stroke drawn is on every client, on a fresh client of each node, and durable. */
async function expectNothingLost(scene: Scene, drawers: Client[], written: string[]): Promise<void> {
  const ids = (doc: Client['doc']): Set<string> => new Set(readStrokes(doc).map((s) => s.id))
  const holdsAll = (doc: Client['doc']): boolean => { const held = ids(doc); return written.every((id) => held.has(id)) }
  await waitFor(() => drawers.every((c) => holdsAll(c.doc)), 30_000, 'every drawer has every stroke')
  const fresh = [await on(0, scene), await on(1, scene)]
  await waitFor(() => fresh.every((c) => holdsAll(c.doc)), 30_000, 'a fresh client of each node has every stroke')
  await waitFor(async () => holdsAll(await durable!.load(scene.room)), 30_000, 'the cluster holds every stroke durably')
  for (const client of [...drawers, ...fresh]) expect(readStrokes(client.doc).length).toBe(written.length)
}

it('loses nothing acknowledged when the room\'s master is killed and its replica promoted', async () => {
  const s = await scene({ masters: 3, replicas: 1 })
  const redis = s.cluster.redisCluster!
  const drawers = [await on(0, s), await on(1, s)]
  const { written, stop } = drawing(s, drawers)
  await waitFor(() => written.length >= 60, 10_000, 'strokes drawn before the failover')
  const master = await redis.masterOf(s.slot)
  const killedAt = Date.now()
  await redis.nodes.find((n) => n.address === master)!.kill()

  await waitFor(async () => (await readiness(s, 0)).log === 'down', 10_000, '/readyz says redis is down')
  // A room of a bucket no node reads yet, on the killed master, loaded meanwhile: its reader must pin the new master.
  const late = connectClient(s.cluster.nodes[1]!.collabUrl, s.neighbour, { token: s.owner.token })
  clients.push(late)
  await waitFor(async () => (await redis.masterOf(s.slot)) !== master, 30_000, 'a replica promoted')
  await waitFor(async () => (await readiness(s, 0)).status === 200 && (await readiness(s, 1)).status === 200, 30_000, 'both nodes ready again')
  console.info(`[redis-cluster failover] master killed to both nodes ready: ${Date.now() - killedAt} ms (cluster-node-timeout ${CLUSTER_NODE_TIMEOUT_MS} ms); strokes drawn before: ${written.length}`)
  const atRecovery = written.length
  await waitFor(() => written.length >= atRecovery + 60, 10_000, 'strokes drawn after the failover')
  await stop()
  await expectNothingLost(s, drawers, written)

  await late.synced()
  const watcher = await on(0, s, s.neighbour)
  addStroke(late.doc, { author: s.owner.id, color: '#654321', width: 2, tool: 'pen', id: 'late', points: [[1, 1]] })
  await waitFor(() => readStrokes(watcher.doc).some((stroke) => stroke.id === 'late'), 15_000, 'a stroke in a room loaded during the failover reaches the other node')
}, 150_000)

it('loses nothing when the room\'s slot migrates to another master while clients draw', async () => {
  const s = await scene({ masters: 3, replicas: 0 }, 0) // bucket 0: its slot is among the first of its master
  const redis = s.cluster.redisCluster!
  const drawers = [await on(0, s), await on(1, s)]
  const { written, stop } = drawing(s, drawers)
  await waitFor(() => written.length >= 60, 10_000, 'strokes drawn before the migration')
  const from = await redis.masterOf(s.slot)
  const to = redis.nodes.map((n) => n.address).find((address) => address !== from)!
  // Moves the source's lowest slots, up to and including the room's.
  const reshardAt = Date.now()
  await redis.reshard(s.slot + 1, from, to)
  expect(await redis.masterOf(s.slot)).toBe(to)
  console.info(`[redis-cluster reshard] ${s.slot + 1} slots moved in ${Date.now() - reshardAt} ms while ${drawers.length} clients drew`)
  const moved = written.length
  await waitFor(() => written.length >= moved + 60, 10_000, 'strokes drawn after the migration')
  await stop()
  await expectNothingLost(s, drawers, written)
}, 150_000)
