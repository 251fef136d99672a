/**
 * Rooms coming and going while things fail: a room whose cold fold failed still compacts once it
 * is hot; a socket admitted while its group is deleted is closed and writes nothing back; a room's
 * retries stop when it leaves memory; shutdown compacts rooms one at a time.
 */
import { afterEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Room } from '../../server/collab/room/room.ts'
import { createGroup, groupFixture, injectApi, registerUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectSynced, rawSocket, type Client } from '../helpers/clients.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let server: TestServer | undefined
let wire: MongoWire | undefined
let dir: Awaited<ReturnType<typeof tempDir>> | undefined
const clients: Client[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await server?.close()
  await wire?.destroy()
  await dir?.remove()
  server = wire = dir = undefined
})

it('a room whose cold fold failed is compacted once it is hot and busy', async () => {
  wire = await startMongoWire()
  dir = await tempDir()
  // COMPACT_SWEEP_MS is out of the way (the sweep is run by hand); idle compaction after 200 ms.
  server = await startServer({ dataDir: dir.path, mongodbUrl: wire.url, mongodbDb: uniqueDbName(), mongodbTimeoutMs: 500, compactIdleMs: 200, compactSweepMs: 3_600_000 })
  const fx = await groupFixture(injectApi(server.app))
  const source = new Y.Doc()
  const updates: Uint8Array[] = []
  source.on('update', (update: Uint8Array) => updates.push(update))
  addStroke(source, { author: fx.owner.id, color: '#123456', width: 2, tool: 'pen', points: [[1, 1]] })
  await server.app.updateLog.append(fx.canvas, updates.map((update) => ({ writer: fx.owner.id, update })))

  await wire.stop()
  await server.app.collab.compactor.sweep(() => false) // the cold fold fails: MongoDB is away
  expect(await server.app.updateLog.size(fx.canvas)).toBe(1)
  await wire.start()

  const client = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(client)
  addStroke(client.doc, { author: fx.owner.id, color: '#654321', width: 2, tool: 'pen', points: [[2, 2]] })
  await waitFor(async () => (await server!.app.storage.snapshots.watermark(fx.canvas)) !== null, 15_000, 'a snapshot while the room is hot')
  expect(server.app.collab.registry.isHot(fx.canvas)).toBe(true)
}, 60_000)

it('closes a socket admitted while its group is deleted, and nothing it sends brings the room back', async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path })
  const api = injectApi(server.app)
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  const registry = server.app.collab.registry
  // Hold the admission between authorization and the room being handed over.
  const acquire = registry.acquire.bind(registry)
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let admitting!: () => void
  const admissionStarted = new Promise<void>((resolve) => { admitting = resolve })
  registry.acquire = async (name: string): Promise<Room> => {
    const room = await acquire(name)
    admitting()
    await held
    return room
  }
  const socket = rawSocket(`${server.collabUrl}/${group.rooms.canvas}?token=${owner.token}`)
  await admissionStarted
  expect((await api('DELETE', `/groups/${group.id}`, { token: owner.token })).status).toBe(204)
  release()
  registry.acquire = acquire
  const doc = new Y.Doc()
  addStroke(doc, { author: owner.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
  socket.opened.then(() => socket.send(syncUpdateFrame(Y.encodeStateAsUpdate(doc))), () => undefined)
  expect((await socket.closed).code).toBe(CloseCode.notFound)
  expect(registry.isHot(group.rooms.canvas)).toBe(false)
  expect(await server.app.updateLog.size(group.rooms.canvas)).toBe(0)
  expect(await server.app.storage.snapshots.load(group.rooms.canvas)).toBeNull()
})

it('shuts down with one final compaction at a time', async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, compactIdleMs: 3_600_000, roomGraceMs: 3_600_000 })
  const fx = await groupFixture(injectApi(server.app))
  const api = injectApi(server.app)
  const groups = [fx.group, ...await Promise.all([1, 2, 3].map((i) => createGroup(api, fx.owner, `g${i}`)))]
  for (const group of groups) {
    const client = await connectSynced(server.collabUrl, group.rooms.canvas, { token: fx.token })
    addStroke(client.doc, { author: fx.owner.id, color: '#00ff00', width: 1, tool: 'pen', points: [[1, 2]] })
    await waitFor(() => server!.app.collab.registry.get(group.rooms.canvas)!.entriesSinceSnapshot > 0)
    client.destroy()
  }
  const compactor = server.app.collab.compactor
  const compactHot = compactor.compactHot.bind(compactor)
  let running = 0
  let most = 0
  const compacted: string[] = []
  compactor.compactHot = async (room) => {
    most = Math.max(most, ++running)
    try {
      await compactHot(room)
      compacted.push(room.name)
    } finally {
      running--
    }
  }
  const closing = server
  server = undefined
  await closing.close()
  expect(most).toBe(1)
  expect(compacted.sort()).toEqual(groups.map((g) => g.rooms.canvas).sort())
})

it('stops retrying a failed reload after a log gap once the room has left memory', async () => {
  wire = await startMongoWire()
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, mongodbUrl: wire.url, mongodbDb: uniqueDbName(), mongodbTimeoutMs: 300, roomGraceMs: 100 })
  const fx = await groupFixture(injectApi(server.app))
  const registry = server.app.collab.registry
  const client = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  const room = registry.get(fx.canvas)!
  let reloads = 0
  const reload = room.deps.reload
  room.deps.reload = (name) => {
    reloads++
    return reload(name)
  }
  await wire.stop() // every reload fails
  ;(room as unknown as { follower: { onGap(): void } }).follower.onGap() // what the log reports after a gap
  await waitFor(() => reloads >= 2, 10_000, 'the reload retried')
  client.destroy()
  await waitFor(() => !registry.isHot(fx.canvas), 10_000, 'the room evicted')
  const afterEviction = reloads
  // Absence can only be shown by waiting: more than two retry intervals (1 s each).
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  expect(reloads).toBe(afterEviction)
}, 30_000)

it('removes, instead of folding, a log left behind for a group that no longer exists', async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path })
  const fx = await groupFixture(injectApi(server.app))
  const orphan = 'NoSuchGroup000000000000/canvas'
  const doc = new Y.Doc()
  addStroke(doc, { author: fx.owner.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
  for (const room of [orphan, fx.canvas]) await server.app.updateLog.append(room, [{ writer: fx.owner.id, update: Y.encodeStateAsUpdate(doc) }])
  await server.app.collab.compactor.sweep(() => false)
  expect(await server.app.updateLog.size(orphan)).toBe(0)
  expect(await server.app.storage.snapshots.load(orphan)).toBeNull()
  expect(await server.app.storage.snapshots.watermark(fx.canvas)).not.toBeNull() // a live group's room is folded as usual
})
