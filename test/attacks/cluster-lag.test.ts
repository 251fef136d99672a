/**
 * A hostile member against the defenses across nodes when one node knows less than the other:
 * a node that has just loaded a room (it has asked the others for their presence, and not heard
 * back yet), or a node that reads the log and the presence relay a moment late. Two server
 * processes over Redis and MongoDB; node 2 reaches Redis through a proxy, whose path stalls for
 * a moment in some tests (well under REDIS_TIMEOUT_MS: Redis stays up for node 2, it hears
 * everything late, as a busy node or a slow link does; the stall only makes the window wide
 * enough to be certain).
 * - Alice (node 1) has claimed her Yjs client id in presence and not written yet. Mallory opens
 *   a socket to node 2, where the room is cold, her update already in the handshake's TCP write:
 *   a garbage clock under Alice's id. A write under an id a member claimed must be refused on
 *   every node, and Alice must keep her id and her socket.
 * - Alice posts a chat message on node 1 while node 2 lags; Mallory, watching on node 1, sends
 *   the same message id on node 2 under a tiny Yjs client id. Two nodes took one id: one of the
 *   messages goes, and it must not be Alice's (she wrote first; Mallory only copied the id).
 * - MAX_DOC_BYTES across nodes: 150 KB written on node 1, then 150 KB on node 2 while node 2
 *   lags, into a document limited to 256 KiB.
 * Honest stock clients on both nodes converge; nothing refused is served.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke } from '../../shared/canvas.ts'
import { messagesOf, postMessage, readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { GroupResponse } from '../../shared/api.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client, type RawSocket } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { awarenessJsonFrame, captureUpdate, decodeServerFrame, healthy, hostileSocket, presenceSeen, rawUpdate, restMessages, syncStep1, wireSocket, type WireSocket } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

const KIB = 1024
const MAX_DOC = 256 * KIB
let cluster: TestCluster
let proxy: TcpProxy
let users: { owner: TestUser; alice: TestUser; bob: TestUser; mallory: TestUser; vera: TestUser }
const clients: Client[] = []
const sockets: RawSocket[] = []
const wires: WireSocket[] = []

beforeAll(async () => {
  let redisUrl = ''
  cluster = await startCluster(2, { MAX_DOC_BYTES: String(MAX_DOC), REDIS_TIMEOUT_MS: '10000', INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000' }, {
    beforeNodes: async (redis) => {
      redisUrl = redis.url
      proxy = await startTcpProxy(redis.port)
    },
    nodeEnv: (index): Record<string, string> => (index === 1 ? { REDIS_URL: proxy.url(redisUrl) } : {}),
  })
  const api = cluster.api(0)
  const [owner, alice, bob, mallory, vera] = await Promise.all(['Owner', 'Alice', 'Bob', 'Mallory', 'Vera'].map((name) => registerUser(api, name)))
  users = { owner: owner!, alice: alice!, bob: bob!, mallory: mallory!, vera: vera! }
}, 60_000)

afterEach(() => {
  proxy.heal()
  for (const client of clients.splice(0)) {
    try {
      client.destroy()
    } catch {
      // a client whose Yjs id was taken over throws when destroyed (y-websocket looks up the new id)
    }
  }
  for (const socket of sockets.splice(0)) socket.ws.close()
  for (const wire of wires.splice(0)) wire.destroy()
})

afterAll(async () => {
  await proxy?.close()
  await cluster?.close()
})

async function freshGroup(): Promise<GroupResponse> {
  const api = cluster.api(0)
  const group = await createGroup(api, users.owner)
  for (const user of [users.alice, users.bob, users.mallory]) await addMember(api, users.owner, group.id, user, 'editor')
  await addMember(api, users.owner, group.id, users.vera, 'viewer')
  return group
}

const node = (i: number) => cluster.nodes[i]!

async function on(i: number, room: string, user: TestUser): Promise<Client> {
  const client = await connectSynced(node(i).collabUrl, room, { token: user.token })
  clients.push(client)
  return client
}

async function raw(i: number, room: string, user: TestUser): Promise<RawSocket> {
  const socket = await hostileSocket(node(i), room, user.token)
  sockets.push(socket)
  return socket
}

/**
 * Sends `update`, then a sync step 1 on the same socket: frames are handled in order, so the
 * answer (its sync step 2) means the update was taken in (or the socket is closed: refused).
 */
async function sendAndWait(socket: RawSocket, update: Uint8Array): Promise<void> {
  const before = socket.frames.length
  socket.send(syncUpdateFrame(update))
  socket.send(syncStep1(Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => socket.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2') || socket.ws.readyState !== WebSocket.OPEN, 15_000, 'her update taken in (or refused)')
}

describe('presence claims across nodes', () => {
  it('refuses a write under a member\'s presence id sent to a node where the room is cold; she keeps her id and her socket', async () => {
    const group = await freshGroup()
    const room = group.rooms.canvas
    const alice = await on(0, room, users.alice)
    const bob = await on(0, room, users.bob)
    alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 }) // her id is claimed (nothing written)
    const watcher = await raw(0, room, users.mallory)
    const id = alice.doc.clientID
    await waitFor(() => presenceSeen(watcher).has(id), 10_000, 'mallory sees her id')

    const url = `${node(1).collabUrl}/${room}?token=${users.mallory.token}`
    const writer = await wireSocket(url, { early: [syncUpdateFrame(rawUpdate([{ client: id, clock: 0, structs: [{ kind: 'gc', length: 1 }] }]))] })
    wires.push(writer)
    const verdict = await Promise.race([writer.closed, waitFor(() => alice.doc.clientID !== id, 15_000, 'refused, or relayed to her').then(() => 'taken' as const)])

    // And then she claims the id in presence from node 2.
    const claimer = await raw(1, room, users.mallory)
    claimer.send(awarenessJsonFrame([{ clientId: id, clock: 2 ** 40, json: JSON.stringify({ cursor: { x: -1, y: -1 } }) }]))
    await waitFor(() => claimer.ws.readyState !== WebSocket.OPEN || alice.closeEvents.length > 0, 15_000, 'her claim refused, or alice closed')

    expect(alice.closeEvents, 'alice was closed for her own id').toEqual([])
    expect(alice.doc.clientID, 'her Yjs client saw someone else write under its id').toBe(id)
    expect(verdict).toBe(CloseCode.updateRefused)
    expect((await claimer.closed).code).toBe(CloseCode.policyViolation)
    alice.provider.awareness.setLocalStateField('cursor', { x: 2, y: 2 })
    await waitFor(() => (bob.provider.awareness.getStates().get(id)?.cursor as { x?: number } | undefined)?.x === 2, 10_000, 'her presence is hers')
    addStroke(alice.doc, { author: users.alice.id, color: '#203040', width: 2, tool: 'pen', points: [[1, 1]] })
    const far = await on(1, room, users.bob)
    await waitFor(() => sameContent(alice.doc, far.doc), 15_000, 'both nodes converge')
  }, 60_000)
  it('keeps a reconnecting member\'s presence id hers against a viewer\'s claim on a node where the room is cold', async () => {
    const group = await freshGroup()
    const room = group.rooms.canvas
    const alice = await on(0, room, users.alice)
    const bob = await on(0, room, users.bob)
    const cursorOf = (id: number) => (bob.provider.awareness.getStates().get(id)?.cursor as { x?: number } | undefined)?.x
    alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 })
    const id = alice.doc.clientID
    await waitFor(() => cursorOf(id) === 1, 10_000, 'her presence claimed')
    alice.provider.disconnect() // a network flap
    await waitFor(() => !bob.provider.awareness.getStates().has(id), 10_000, 'bob saw her leave')

    const vera = await raw(1, room, users.vera) // node 2 loads the room now; it has never heard of her id
    vera.send(awarenessJsonFrame([{ clientId: id, clock: 2 ** 40, json: JSON.stringify({ cursor: { x: -1, y: -1 } }) }]))
    const claim = await Promise.race([vera.closed.then(({ code }) => code), waitFor(() => cursorOf(id) === -1, 10_000, 'her claim relayed').then(() => 'taken' as const)])

    const closes = alice.closeEvents.length // her own disconnect
    alice.provider.connect()
    await waitFor(() => alice.provider.synced || alice.closeEvents.length > closes, 10_000, 'alice back (or closed)')
    alice.provider.awareness.setLocalStateField('cursor', { x: 2, y: 2 })
    // Her socket's messages are handled in order: once her stroke reaches bob, so has her cursor.
    addStroke(alice.doc, { author: users.alice.id, color: '#203040', width: 2, tool: 'pen', points: [[2, 2]] })
    await waitFor(() => sameContent(alice.doc, bob.doc) || alice.closeEvents.length > closes, 10_000, 'her stroke reaches bob (or she is closed)')
    expect(alice.closeEvents.slice(closes)).toEqual([])
    expect(cursorOf(id), 'bob sees whose state under her id').toBe(2)
    expect(claim).toBe(CloseCode.policyViolation)
  }, 60_000)
})

describe('message ids across nodes', () => {
  it('keeps the message of the user who took an id first when another copies it on a node that reads the log late', async () => {
    const group = await freshGroup()
    const room = group.rooms.chat
    const alice = await on(0, room, users.alice)
    const watcher = await on(0, room, users.mallory)
    const bob = await on(1, room, users.bob)
    const writer = await raw(1, room, users.mallory)

    proxy.blackhole() // node 2 hears the log (and presence) late
    postMessage(alice.doc, { author: users.alice.id, authorName: 'Alice', text: 'first, from alice' })
    const seen = await waitFor(() => readAllMessages(watcher.doc)[0], 10_000, 'mallory sees it on node 1')
    const doc = new Y.Doc()
    doc.clientID = 1 // the smallest item id wins a tie
    const copy = captureUpdate(doc, () => messagesOf(doc).push([{ id: seen.id, author: users.mallory.id, authorName: 'Mallory', text: 'mine now', time: Date.now() }]))
    await sendAndWait(writer, copy)
    proxy.heal()

    const only = (d: Y.Doc) => readAllMessages(d).filter((m) => m.id === seen.id)
    await waitFor(() => only(alice.doc).length === 1 && sameContent(alice.doc, bob.doc), 15_000, 'one message under the id, everywhere')
    postMessage(bob.doc, { author: users.bob.id, authorName: 'Bob', text: 'after' })
    await waitFor(() => sameContent(alice.doc, bob.doc) && readAllMessages(alice.doc).length === 2, 15_000, 'converged')
    expect(only(alice.doc)[0]).toMatchObject({ author: users.alice.id, text: 'first, from alice' })
    for (const i of [0, 1]) {
      const served = await restMessages(node(i).url, group.id, users.owner.token)
      expect(served.map((m) => m.text), `node ${i + 1}`).toEqual(['first, from alice', 'after'])
    }
    expect(await healthy(node(1).url)).toBe(true)
  }, 60_000)
})

describe('MAX_DOC_BYTES across nodes', () => {
  it('is not passed by two writes on two nodes, one of them reading the log late', async () => {
    const group = await freshGroup()
    const room = group.rooms.canvas
    const alice = await on(0, room, users.alice)
    const bob = await on(1, room, users.bob)
    const random = prng(61)
    const stroke = (user: TestUser) => {
      const doc = new Y.Doc()
      return captureUpdate(doc, () => addStroke(doc, { author: user.id, color: '#406080', width: 2, tool: 'pen', points: Array.from({ length: 8_300 }, () => [random() * 1000, random() * 1000] as [number, number]) }))
    }
    const [first, second] = [stroke(users.mallory), stroke(users.alice)]
    expect(first.length + second.length).toBeGreaterThan(MAX_DOC)
    expect(first.length).toBeLessThan(MAX_DOC / 2 + 30 * KIB)
    const one = await raw(0, room, users.mallory)
    const two = await raw(1, room, users.alice)

    proxy.blackhole()
    await sendAndWait(one, first)
    await waitFor(() => alice.doc.getArray('strokes').length === 1, 10_000, 'the first stroke logged on node 1')
    await sendAndWait(two, second)
    proxy.heal()
    // Node 2 has taken her stroke in; the log decides once node 2's append gets through.
    await waitFor(() => two.ws.readyState !== WebSocket.OPEN || alice.doc.getArray('strokes').length === 2, 15_000, 'her write decided')

    const taken = 1 + (two.ws.readyState === WebSocket.OPEN ? 1 : 0)
    await waitFor(() => alice.doc.getArray('strokes').length === taken && sameContent(alice.doc, bob.doc), 15_000, 'both nodes converge')
    const size = Y.encodeStateAsUpdate(alice.doc).length
    expect(size, `the document holds ${Math.round(size / KIB)} KiB`).toBeLessThanOrEqual(MAX_DOC)
    expect((await two.closed).code).toBe(CloseCode.documentTooLarge)
  }, 60_000)
})
