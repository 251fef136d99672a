/**
 * Across nodes, a stock client passes on content it got through another node: its sync step 2
 * carries everything the server's state vector lacks, others' structs included. When the node it
 * now talks to has not read that content from the log yet, the structs are new there, under a
 * client id bound to another user. That is no forgery: the update is held (a `foreign` verdict)
 * until the node has read the content, then taken for what it adds (nothing) or declined, and
 * the socket stays open. (Before, it was refused with 4422, and the stock client, reconnecting,
 * sent it again and was refused again for as long as the node lagged.)
 *
 * Two server processes over one private Redis and the run's MongoDB-wire server; node B reaches
 * Redis through a TCP proxy whose path is made silent (no FIN, well under REDIS_TIMEOUT_MS: Redis
 * stays up for node B, it reads the log late, as a busy node or a slow link does). Ann draws on
 * node A; Bob's stock client syncs on node A, gets her fresh strokes, and moves to node B, which
 * has not read them. Bob must keep his socket, nothing must be logged or credited to him, and
 * everyone (live and fresh clients on both nodes) converges once node B reads the log again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import * as Y from 'yjs'
import type { GroupResponse, VersionResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { LOG_START } from '../../server/log/log-id.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

const silent = pino({ level: 'silent' })
const pen = (author: string, color: string, at: number) => ({ author, color, width: 3, tool: 'pen' as const, points: [[at, at], [at + 5, at + 5]] as const })

let cluster: TestCluster
let proxy: TcpProxy
let users: { owner: TestUser; ann: TestUser; bob: TestUser; vera: TestUser }
const clients: Client[] = []

beforeAll(async () => {
  let redisUrl = ''
  cluster = await startCluster(2, {
    REDIS_TIMEOUT_MS: '10000', // the silent path never makes Redis count as down for node B
    COMPACT_IDLE_MS: '3600000', // nothing compacts by itself
    COMPACT_EVERY_UPDATES: '1000000',
    LOG_LEVEL: 'info', // refusals and declines are logged at info
  }, {
    beforeNodes: async (redis) => {
      redisUrl = redis.url
      proxy = await startTcpProxy(redis.port)
    },
    nodeEnv: (index): Record<string, string> => (index === 1 ? { REDIS_URL: proxy.url(redisUrl) } : {}),
  })
  const api = cluster.api(0)
  const [owner, ann, bob, vera] = await Promise.all(['Owner', 'Ann', 'Bob', 'Vera'].map((name) => registerUser(api, name)))
  users = { owner: owner!, ann: ann!, bob: bob!, vera: vera! }
}, 60_000)

afterEach(() => {
  proxy.heal()
  for (const client of clients.splice(0)) client.destroy()
})

afterAll(async () => {
  await proxy?.close()
  await cluster?.close()
})

const node = (i: number) => cluster.nodes[i]!

async function freshGroup(): Promise<GroupResponse> {
  const api = cluster.api(0)
  const group = await createGroup(api, users.owner)
  for (const user of [users.ann, users.bob]) await addMember(api, users.owner, group.id, user, 'editor')
  await addMember(api, users.owner, group.id, users.vera, 'viewer')
  return group
}

async function on(i: number, room: string, user: TestUser): Promise<Client> {
  const client = await connectSynced(node(i).collabUrl, room, { token: user.token })
  clients.push(client)
  return client
}

/** Writers of every update in the room's Redis stream, read directly. */
async function loggedWriters(room: string): Promise<string[]> {
  const redis = await RedisClients.connect(cluster.redis.url, silent)
  const log = new RedisLog(redis, { prefix: 'collab:', minEntryAgeMs: 60_000, logger: silent })
  try {
    return (await log.read(room, LOG_START, 1_000_000)).flatMap((entry) => entry.updates.map((u) => u.writer))
  } finally {
    await log.close()
    await redis.close()
  }
}

const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).sort().join()

describe('a stock client\'s sync step 2 carrying content another node has not read yet', () => {
  it('is held until that node reads it, not refused: Bob keeps his socket, nothing is his, everyone converges', async () => {
    const group = await freshGroup()
    const room = group.rooms.canvas
    const vera = await on(1, room, users.vera) // keeps the room hot on node B and watches it
    const ann = await on(0, room, users.ann)
    const bobOnA = await on(0, room, users.bob)

    // Ann's first stroke is read by node B: her Yjs client id is bound to her there.
    addStroke(ann.doc, pen(users.ann.id, '#a00001', 10))
    await waitFor(() => readStrokes(vera.doc).length === 1 && readStrokes(bobOnA.doc).length === 1, 10_000, 'node B has read Ann\'s first stroke')

    proxy.blackhole() // node B reads the log late from here on
    addStroke(ann.doc, pen(users.ann.id, '#a00002', 20))
    addStroke(ann.doc, pen(users.ann.id, '#a00003', 30))
    await waitFor(() => readStrokes(bobOnA.doc).length === 3, 10_000, 'Bob has Ann\'s fresh strokes through node A')
    expect(readStrokes(vera.doc)).toHaveLength(1) // node B has not read them

    // Bob's stock client moves to node B: its sync step 2 answers node B's state vector with
    // Ann's two fresh strokes, under her client id.
    bobOnA.provider.disconnect()
    const bob = connectClient(node(1).collabUrl, room, { token: users.bob.token, doc: bobOnA.doc })
    clients.push(bob)
    await waitFor(() => bob.provider.synced || bob.closeEvents.length > 0, 10_000, 'Bob synced on node B (or closed)')
    expect(bob.closeEvents, 'Bob\'s socket on node B was closed').toEqual([])
    // The provider sent its step 2 when node B's step 1 came, before node B's answer made it
    // synced. Node B handles a socket's frames in order: once presence Bob sets now reaches Vera
    // on node B, his step 2 has been judged.
    bob.provider.awareness.setLocalStateField('marker', 'after step 2')
    await waitFor(() => (vera.provider.awareness.getStates().get(bob.doc.clientID) as { marker?: string } | undefined)?.marker === 'after step 2' || bob.closeEvents.length > 0, 10_000, 'Bob\'s step 2 judged on node B')
    expect(bob.closeEvents, 'Bob\'s socket on node B was closed').toEqual([])
    expect(bob.provider.wsconnected).toBe(true)
    expect(readStrokes(vera.doc), 'node B took Ann\'s strokes from Bob before reading them').toHaveLength(1)

    proxy.heal() // node B reads Ann's strokes from the log; Bob's held step 2 then adds nothing
    await waitFor(() => readStrokes(vera.doc).length === 3 && sameContent(vera.doc, ann.doc) && sameContent(bob.doc, ann.doc), 15_000, 'node B caught up')
    expect(bob.closeEvents).toEqual([])

    // Nothing is Bob's: no update of his in the log, no version crediting him, no refusal or decline on node B.
    expect(await loggedWriters(room)).toEqual([users.ann.id, users.ann.id, users.ann.id])
    const version = await cluster.api(1)<{ version: VersionResponse }>('POST', `/groups/${group.id}/versions`, { token: users.owner.token, body: { doc: 'canvas', name: 'Ann only' } })
    expect(version.status).toBe(201)
    expect(version.body.version.authors.map((a) => a.name)).toEqual(['Ann'])
    expect(node(1).logs.filter((line) => /refused an update|declined content/.test(line))).toEqual([])

    // Bob's socket on node B works: his own stroke reaches everyone; fresh clients on both nodes agree.
    addStroke(bob.doc, pen(users.bob.id, '#b00001', 40))
    await waitFor(() => colors(ann) === '#a00001,#a00002,#a00003,#b00001' && sameContent(ann.doc, bob.doc) && sameContent(vera.doc, bob.doc), 15_000, 'everyone has Bob\'s stroke')
    const fresh = await Promise.all([on(0, room, users.owner), on(1, room, users.owner)])
    for (const c of fresh) expect(Y.encodeStateAsUpdate(c.doc).length > 0 && sameContent(c.doc, ann.doc)).toBe(true)
    expect(bob.closeEvents).toEqual([])
  }, 60_000)
})
