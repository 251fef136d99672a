/**
 * A room's content gate is rebuilt when it may hold what the log refused (an append failed), and
 * for a document past the inline size it is rebuilt in the doc worker: for that while there is no
 * gate, and content read from the log meanwhile is queued for the new one. An update held for
 * content it depends on must be judged again when the new gate is installed: the content may have
 * arrived while there was none (nothing could judge it then), and nothing else will come to look.
 * Without that, it waits until something else enters the room, or until its age closes the socket
 * (the client does not send it again: to the client it was sent).
 *
 * Real parts: two in-process nodes over one private redis-server (so its memory limit can be set
 * without touching anyone else's Redis) and the run's MongoDB-wire server; stock clients and raw
 * sockets. The append failure is a real one: Redis, out of memory (maxmemory 1 byte, noeviction),
 * refuses the append script while reads and PINGs go on. One test hook, on node B: its doc worker's
 * index build waits for the test's word before it runs (the real build then runs), so content from
 * node A is read on node B while the gate is being built, every time.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest'
import { createClient } from '@redis/client'
import * as Y from 'yjs'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import type { GroupResponse } from '../../shared/api.ts'
import type { Room } from '../../server/collab/room/room.ts'
import { addMember, createGroup, injectApi, registerUser, type TestUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectSynced, type Client, type RawSocket } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { captureUpdate, decodeServerFrame, deniedReasons, hostileSocket, syncStep1 } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

/** Past the size up to which a content index is built on the main thread (collab/index.ts: 128 KiB). */
const BIG_POINTS = 12_000
const EMPTY_SV = Y.encodeStateVector(new Y.Doc())
const pen = (author: string, color: string, at: number) => ({ author, color, width: 3, tool: 'pen' as const, points: [[at, at], [at + 5, at + 5]] as const })

let redis: RedisServer
const dirs: Array<Awaited<ReturnType<typeof tempDir>>> = []
let nodeA: TestServer
let nodeB: TestServer
let users: { ann: TestUser; bob: TestUser; carl: TestUser; vera: TestUser }
let group: GroupResponse
const clients: Client[] = []
const sockets: RawSocket[] = []

beforeAll(async () => {
  redis = await startRedis()
  const shared = { redisUrl: redis.url, mongodbUrl: inject('mongoUrl'), mongodbDb: uniqueDbName(), compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000 }
  for (let i = 0; i < 2; i++) dirs.push(await tempDir())
  nodeA = await startServer({ ...shared, dataDir: dirs[0]!.path })
  nodeB = await startServer({ ...shared, dataDir: dirs[1]!.path })
  const api = injectApi(nodeA.app)
  const [ann, bob, carl, vera] = await Promise.all(['Ann', 'Bob', 'Carl', 'Vera'].map((name) => registerUser(api, name)))
  users = { ann: ann!, bob: bob!, carl: carl!, vera: vera! }
  group = await createGroup(api, users.ann)
  for (const user of [users.bob, users.carl]) await addMember(api, users.ann, group.id, user, 'editor')
  await addMember(api, users.ann, group.id, users.vera, 'viewer')
}, 60_000)

afterAll(async () => {
  for (const client of clients.splice(0)) client.destroy()
  for (const socket of sockets.splice(0)) socket.ws.close()
  await nodeA?.close()
  await nodeB?.close()
  await redis?.destroy()
  for (const dir of dirs) await dir.remove()
})

async function on(server: TestServer, user: TestUser): Promise<Client> {
  const client = await connectSynced(server.collabUrl, group.rooms.canvas, { token: user.token })
  clients.push(client)
  return client
}

async function raw(server: TestServer, user: TestUser): Promise<RawSocket> {
  const socket = await hostileSocket(server, group.rooms.canvas, user.token)
  sockets.push(socket)
  return socket
}

/** Sends an update, then a sync step 1: frames are handled in order, so the answer means the update was taken in. */
async function sendAndWait(socket: RawSocket, update: Uint8Array): Promise<void> {
  const before = socket.frames.length
  socket.send(syncUpdateFrame(update))
  socket.send(syncStep1(EMPTY_SV))
  await waitFor(() => socket.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2') || socket.ws.readyState !== WebSocket.OPEN, 10_000, 'the update taken in')
}

/** Node B's index builds wait for `release` (then run as usual). */
function pauseIndexBuilds(server: TestServer): { readonly started: number; release(): void } {
  const worker = server.app.collab.worker
  const build = worker.buildIndex.bind(worker)
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let started = 0
  worker.buildIndex = async function* (...args: Parameters<typeof build>) {
    started++
    await released
    yield* build(...args)
  }
  return { get started() { return started }, release: () => release() }
}

async function redisMaxMemory(bytes: number): Promise<void> {
  const client = createClient({ url: redis.url })
  await client.connect()
  try {
    await client.configSet('maxmemory', String(bytes))
  } finally {
    await client.close()
  }
}

function heldOf(room: Room, user: TestUser): number {
  return [...room.conns].filter((c) => c.principal.userId === user.id).reduce((sum, c) => sum + c.held.length, 0)
}

it('judges again, when the rebuilt gate is installed, an update held for content read while the gate was being built', async () => {
  const room = group.rooms.canvas
  const ann = await on(nodeA, users.ann)
  const vera = await on(nodeB, users.vera) // a viewer on node B: keeps the room hot there, watches
  // A document past the inline size: node B builds its gates in the doc worker.
  const random = prng(19)
  addStroke(ann.doc, { author: users.ann.id, color: '#a00001', width: 2, tool: 'pen', points: Array.from({ length: BIG_POINTS }, () => [random() * 1000, random() * 1000] as [number, number]) })
  await waitFor(() => readStrokes(vera.doc).length === 1, 15_000, 'node B has Ann\'s big stroke')
  expect(Y.encodeStateAsUpdate(vera.doc).length).toBeGreaterThan(128 * 1024)
  const roomB = nodeB.app.collab.registry.get(room)!

  // Bob draws two strokes; the second builds on the first. His second reaches node B first (it
  // is held there: its dependency is missing); his first goes through node A, later.
  const bobDoc = new Y.Doc()
  const first = captureUpdate(bobDoc, () => addStroke(bobDoc, pen(users.bob.id, '#b00001', 40)))
  const second = captureUpdate(bobDoc, () => addStroke(bobDoc, pen(users.bob.id, '#b00002', 50)))
  const bobOnB = await raw(nodeB, users.bob)
  await sendAndWait(bobOnB, second)
  expect(heldOf(roomB, users.bob)).toBe(1)

  // An append of node B fails (Redis out of memory): node B rebuilds its gate (in the worker, paused).
  const builds = pauseIndexBuilds(nodeB)
  const carlOnB = await raw(nodeB, users.carl)
  const carlDoc = new Y.Doc()
  await redisMaxMemory(1)
  try {
    await sendAndWait(carlOnB, captureUpdate(carlDoc, () => addStroke(carlDoc, pen(users.carl.id, '#c00001', 70))))
    await waitFor(() => builds.started === 1 && roomB.gates.current === null && roomB.writesInFlight === 0, 10_000, 'node B\'s append failed and its gate is being rebuilt')
  } finally {
    await redisMaxMemory(0)
  }
  expect(nodeB.app.updateLog.isUp()).toBe(true)

  // Bob's first stroke is logged through node A, and node B reads it while it has no gate.
  const bobOnA = await raw(nodeA, users.bob)
  await sendAndWait(bobOnA, first)
  await waitFor(() => (roomB.bytes.vectorMap.get(bobDoc.clientID) ?? 0) > 0 && readStrokes(vera.doc).length === 2, 10_000, 'node B read Bob\'s first stroke')
  expect(roomB.gates.current).toBeNull()
  expect(heldOf(roomB, users.bob)).toBe(1) // nothing could judge it: there is no gate

  builds.release() // the rebuilt gate is installed
  const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).sort().join()
  await waitFor(() => colors(vera) === '#a00001,#b00001,#b00002' && colors(ann) === '#a00001,#b00001,#b00002', 10_000, 'Bob\'s held stroke taken once the gate is installed')
  expect(heldOf(roomB, users.bob)).toBe(0)
  expect(bobOnB.ws.readyState).toBe(WebSocket.OPEN)
  expect(deniedReasons(bobOnB)).toEqual([])

  // Logged once each (Carl's refused stroke is not: his raw socket never sends it again), and
  // everyone, fresh clients on both nodes included, holds the same document.
  const writers = (await nodeA.app.updateLog.read(room, '0-0', 1_000_000)).flatMap((e) => e.updates.map((u) => u.writer))
  expect(writers).toEqual([users.ann.id, users.bob.id, users.bob.id])
  const fresh = await Promise.all([on(nodeA, users.vera), on(nodeB, users.vera)])
  await waitFor(() => sameContent(vera.doc, ann.doc) && fresh.every((c) => sameContent(c.doc, ann.doc)), 10_000, 'everyone converged')
}, 60_000)
