/**
 * MAX_DOC_BYTES holds in the log itself, not only on each node. Two server processes over Redis;
 * node 2 reaches Redis through a proxy whose path stalls for a moment (well under
 * REDIS_TIMEOUT_MS: node 2 hears the log late, and its own append lands late). Node 2 accepts a
 * write that fits what it has read; the log, which has the other node's write, refuses it, and
 * node 2 closes the writer 4413 as it would have had it known. Both nodes converge within the
 * limit, and the rest of the room goes on.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client, type RawSocket } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { captureUpdate, decodeServerFrame, hostileSocket, syncStep1 } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

const MAX_DOC = 256 * 1024
let cluster: TestCluster
let proxy: TcpProxy
let owner: TestUser
let ann: TestUser
const clients: Client[] = []
const sockets: RawSocket[] = []

beforeAll(async () => {
  let redisUrl = ''
  cluster = await startCluster(2, { MAX_DOC_BYTES: String(MAX_DOC), REDIS_TIMEOUT_MS: '10000' }, {
    beforeNodes: async (redis) => {
      redisUrl = redis.url
      proxy = await startTcpProxy(redis.port)
    },
    nodeEnv: (index): Record<string, string> => (index === 1 ? { REDIS_URL: proxy.url(redisUrl) } : {}),
  })
  owner = await registerUser(cluster.api(0), 'Owner')
  ann = await registerUser(cluster.api(0), 'Ann')
}, 60_000)

afterEach(() => {
  proxy.heal()
  for (const client of clients.splice(0)) client.destroy()
  for (const socket of sockets.splice(0)) socket.ws.close()
})

afterAll(async () => {
  await proxy?.close()
  await cluster?.close()
})

async function on(node: number, room: string, user: TestUser): Promise<Client> {
  const client = await connectSynced(cluster.nodes[node]!.collabUrl, room, { token: user.token })
  clients.push(client)
  return client
}

async function raw(node: number, room: string, user: TestUser): Promise<RawSocket> {
  const socket = await hostileSocket(cluster.nodes[node]!, room, user.token)
  sockets.push(socket)
  return socket
}

/** One stroke of ~150 KB (random points do not compress), as one update by `user`. */
function bigStroke(user: TestUser, seed: number): Uint8Array {
  const random = prng(seed)
  const doc = new Y.Doc()
  const points = Array.from({ length: 8_300 }, () => [random() * 1000, random() * 1000] as [number, number])
  return captureUpdate(doc, () => addStroke(doc, { author: user.id, color: '#406080', width: 2, tool: 'pen', points }))
}

it('refuses, in the log, a write that passes the limit with what another node wrote, on a node that has not read it yet', async () => {
  const group = await createGroup(cluster.api(0), owner)
  await addMember(cluster.api(0), owner, group.id, ann, 'editor')
  const room = group.rooms.canvas
  const near = await on(0, room, owner)
  const far = await on(1, room, ann)
  const [first, second] = [bigStroke(owner, 1), bigStroke(ann, 2)]
  expect(first.length + second.length).toBeGreaterThan(MAX_DOC)
  const one = await raw(0, room, owner)
  const two = await raw(1, room, ann)

  proxy.blackhole()
  one.send(syncUpdateFrame(first))
  await waitFor(() => near.doc.getArray('strokes').length === 1, 10_000, 'the first stroke logged on node 1')
  // Node 2 has not read the first: 150 KB fits what it knows. Frames are handled in order, so the
  // answer to a sync step 1 sent after the update means node 2 took it in (its append is stalled).
  const before = two.frames.length
  two.send(syncUpdateFrame(second))
  two.send(syncStep1(Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => two.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2'), 10_000, 'node 2 took it in')
  expect(two.ws.readyState, 'node 2 alone cannot know').toBe(WebSocket.OPEN)
  proxy.heal()

  expect((await two.closed).code).toBe(CloseCode.documentTooLarge)
  await waitFor(() => far.doc.getArray('strokes').length === 1 && sameContent(near.doc, far.doc), 15_000, 'both nodes converge on the first stroke')
  expect(Y.encodeStateAsUpdate(far.doc).length).toBeLessThanOrEqual(MAX_DOC)
  // The room goes on: a small stroke from node 2 is taken and reaches node 1.
  addStroke(far.doc, { author: ann.id, color: '#102030', width: 2, tool: 'pen', points: [[1, 1]] })
  await waitFor(() => near.doc.getArray('strokes').length === 2 && sameContent(near.doc, far.doc), 15_000, 'a small stroke after the refusal')
}, 60_000)
