/**
 * Two server processes on a real three-master Redis Cluster (REDIS_CLUSTER_NODES) and the run's
 * MongoDB-wire server: keys of a room stay in one slot, rooms spread over the masters, clients on
 * both nodes converge on canvases and chats in several rooms, presence crosses nodes (sharded
 * pub/sub), compaction folds into MongoDB, and a node killed with SIGKILL loses nothing.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import type { GroupResponse } from '../../shared/api.ts'
import { bucketedKeyspace, keySlot } from '../../server/cluster/redis-keyspace.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { startBalancer, type Balancer } from '../helpers/balancer.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const run = promisify(execFile)
const BUCKETS = 16

let cluster: TestCluster
let durable: DurableView
let owner: TestUser
let member: TestUser
const groups: GroupResponse[] = []
const clients: Client[] = []

beforeAll(async () => {
  cluster = await startCluster(2, { COMPACT_IDLE_MS: '300', COMPACT_SWEEP_MS: '1000', ROOM_GRACE_MS: '500', REDIS_MIN_ENTRY_AGE_MS: '1000', REDIS_CLUSTER_BUCKETS: String(BUCKETS) }, { redisCluster: { masters: 3 } })
  durable = await durableView(cluster.env)
  owner = await registerUser(cluster.api(0), 'Owner')
  member = await registerUser(cluster.api(1), 'Member')
  for (let i = 0; i < 4; i++) {
    const group = await createGroup(cluster.api(i % 2), owner)
    await addMember(cluster.api(0), owner, group.id, member, 'editor')
    groups.push(group)
  }
}, 90_000)

afterAll(async () => {
  if (process.env.SHOW_NODE_LOGS) for (const node of cluster.live()) process.stderr.write(`${node.logs.slice(-60).join('\n')}\n`)
  for (const client of clients) client.destroy()
  await durable?.close()
  await cluster?.close()
})

async function on(node: number, room: string, user: TestUser): Promise<Client> {
  const client = await connectSynced(cluster.nodes[node]!.collabUrl, room, { token: user.token })
  clients.push(client)
  return client
}

describe('keys and slots', () => {
  it('hashes keys to the slots Redis Cluster does, and every bucket\'s keys to its one slot', async () => {
    const keys = ['collab:log:abc', 'a{b}c', '{}x', 'x{}{y}', 'ünïcode', 'collab:{b3.1}log:room:canvas', '123456789']
    for (const key of keys) expect(keySlot(key), key).toBe(Number((await cluster.redisCluster!.cli('cluster', 'keyslot', key)).trim()))
    const keyspace = bucketedKeyspace('collab:', BUCKETS)
    for (const room of ['g1:canvas', 'g1:chat', 'a{weird}room']) {
      const slot = keyspace.slotOf(keyspace.bucketOf(room))
      for (const kind of ['log', 'size', 'trimmed', 'lease']) expect(keySlot(keyspace.roomKey(kind, room))).toBe(slot)
      expect(keySlot(keyspace.roomChannel('aw', room))).toBe(slot)
      expect(keySlot(keyspace.bucketKey('rooms', keyspace.bucketOf(room)))).toBe(slot)
    }
  })

  it('spreads the buckets evenly over the masters', async () => {
    const keyspace = bucketedKeyspace('collab:', BUCKETS)
    const perMaster = new Map<string, number>()
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const master = await cluster.redisCluster!.masterOf(keyspace.slotOf(bucket))
      perMaster.set(master, (perMaster.get(master) ?? 0) + 1)
    }
    expect(perMaster.size).toBe(3)
    for (const count of perMaster.values()) expect(count).toBeGreaterThanOrEqual(5)
  })
})

it('clients on two nodes converge in every room, and each room\'s stream lives on its bucket\'s master', async () => {
  const rooms = groups.flatMap((g) => [g.rooms.canvas, g.rooms.chat])
  const pairs = await Promise.all(rooms.map(async (room) => [await on(0, room, owner), await on(1, room, member)] as const))
  for (const [i, [a, b]] of pairs.entries()) {
    if (rooms[i]!.endsWith('canvas')) {
      for (let n = 0; n < 20; n++) {
        addStroke(a.doc, { author: owner.id, color: '#aa0000', width: 2, tool: 'pen', points: [[n, 1]] })
        addStroke(b.doc, { author: member.id, color: '#00aa00', width: 2, tool: 'pen', points: [[n, 2]] })
      }
    } else {
      postMessage(a.doc, { author: owner.id, authorName: 'Owner', text: 'from node 0' })
      postMessage(b.doc, { author: member.id, authorName: 'Member', text: 'from node 1' })
    }
  }
  for (const [i, [a, b]] of pairs.entries()) {
    const expected = rooms[i]!.endsWith('canvas') ? 40 : 2
    const count = (doc: Client['doc']): number => (rooms[i]!.endsWith('canvas') ? readStrokes(doc).length : readAllMessages(doc).length)
    await waitFor(() => count(a.doc) === expected && count(b.doc) === expected, 15_000, `room ${rooms[i]} converged`)
    expect(sameContent(a.doc, b.doc)).toBe(true)
  }
  const keyspace = bucketedKeyspace('collab:', BUCKETS)
  for (const room of rooms) {
    const master = await cluster.redisCluster!.masterOf(keyspace.slotOf(keyspace.bucketOf(room)))
    const port = master.split(':')[1]!
    const { stdout } = await run('redis-cli', ['-p', port, 'exists', keyspace.roomKey('size', room)])
    expect(stdout.trim(), `size hash of ${room} on ${master}`).toBe('1')
  }
  // Compaction (under the cluster's lease) folds every room into MongoDB.
  for (const [i, [a]] of pairs.entries()) {
    await waitFor(async () => {
      const snapshot = await durable.snapshot(rooms[i]!)
      return snapshot !== null && sameContent(snapshot, a.doc)
    }, 20_000, `room ${rooms[i]} folded into its snapshot`)
  }
}, 90_000)

it('presence crosses nodes over sharded pub/sub', async () => {
  const room = groups[1]!.rooms.chat
  const alice = await on(0, room, owner)
  alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })
  const bob = await on(1, room, member)
  await waitFor(() => bob.provider.awareness.getStates().has(alice.doc.clientID), 10_000, 'alice seen on node 1')
  bob.provider.awareness.setLocalStateField('user', { name: 'Bob' })
  await waitFor(() => alice.provider.awareness.getStates().has(bob.doc.clientID), 10_000, 'bob seen on node 0')
  bob.destroy()
  await waitFor(() => !alice.provider.awareness.getStates().has(bob.doc.clientID), 10_000, 'bob gone on node 0')
})

it('loses no edit when a node is killed with SIGKILL mid-edit', async () => {
  const balancer: Balancer = await startBalancer([])
  try {
    const room = groups[2]!.rooms.canvas
    const via = async (node: number): Promise<Client> => {
      balancer.setBackends([cluster.nodes[node]!.port])
      const client = await connectSynced(balancer.collabUrl, room, { token: owner.token })
      clients.push(client)
      return client
    }
    const all = [await via(0), await via(0), await via(1)]
    const written: string[] = []
    let editing = true
    const edits = all.map(async (client, n) => {
      for (let i = 0; editing; i++) {
        const stroke = addStroke(client.doc, { author: owner.id, color: '#123456', width: 2, tool: 'pen', id: `killed-${n}-${i}`, points: [[i, n]] })
        written.push(stroke.get('id') as string)
        await sleep(5)
      }
    })
    await waitFor(() => written.length >= 60, 10_000, 'some edits written')
    balancer.setBackends([])
    await cluster.killNode(0, 'SIGKILL')
    balancer.setBackends([cluster.nodes[1]!.port])
    await waitFor(() => all.every((c) => c.provider.wsconnected && c.provider.synced), 20_000, 'clients of the killed node reconnected')
    editing = false
    await Promise.all(edits)
    // The room also holds the first test's strokes: count this test's own.
    const ours = (doc: Client['doc']): number => readStrokes(doc).filter((s) => s.id.startsWith('killed-')).length
    await waitFor(() => all.every((c) => ours(c.doc) === written.length), 20_000, 'every client has every edit')
      .catch((error: Error) => { throw new Error(`${error.message}: ${written.length} written (${new Set(written).size} distinct), clients hold ${all.map((c) => ours(c.doc)).join(', ')}`) })
    await waitFor(async () => ours(await durable.load(room)) === written.length, 20_000, 'the cluster holds every edit durably')
    await cluster.startNode(0)
  } finally {
    await balancer.close()
  }
}, 90_000)
