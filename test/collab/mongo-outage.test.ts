/**
 * MongoDB goes away while clients edit: hot rooms keep working (the log holds the updates),
 * /readyz says storage is down, a room that cannot be loaded is refused (never served empty),
 * and once MongoDB is back every accepted update reaches the snapshot.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { createGroup, injectApi, registerUser, type Api, type TestUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { docJson } from '../helpers/docs.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import { snapshotDoc } from '../helpers/snapshot-doc.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let wire: MongoWire
let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
let api: Api
let owner: TestUser
const clients: Client[] = []

beforeAll(async () => {
  wire = await startMongoWire()
  dir = await tempDir()
  server = await startServer({
    dataDir: dir.path,
    mongodbUrl: wire.url,
    mongodbDb: uniqueDbName(),
    mongodbTimeoutMs: 1_000,
    compactEveryUpdates: 20,
    compactIdleMs: 200,
    compactSweepMs: 500,
    roomGraceMs: 200,
  })
  api = injectApi(server.app)
  owner = await registerUser(api, 'Owner')
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await wire.destroy()
  await dir.remove()
})

function draw(client: Client, color: string, count: number): void {
  for (let i = 0; i < count; i++) addStroke(client.doc, { author: owner.id, color, width: 2, tool: 'pen', points: [[i, i]] })
}

async function readyz(): Promise<{ status: number; body: { storage: string } }> {
  const response = await server.app.inject({ url: '/readyz' })
  return { status: response.statusCode, body: response.json() }
}

it('keeps serving through a MongoDB outage and snapshots everything once it is back', async () => {
  const group = await createGroup(api, owner, 'Busy')
  const quiet = await createGroup(api, owner, 'Quiet')
  // The quiet group's chat has history in MongoDB and is not in memory when MongoDB goes away.
  expect((await api('POST', `/groups/${quiet.id}/messages`, { token: owner.token, body: { text: 'history' } })).status).toBe(201)
  await waitFor(async () => !server.app.collab.registry.isHot(quiet.rooms.chat) && (await server.app.storage.snapshots.load(quiet.rooms.chat)) !== null, 10_000, 'quiet chat snapshotted and evicted')

  const alice = await connectSynced(server.collabUrl, group.rooms.canvas, { token: owner.token })
  const bob = await connectSynced(server.collabUrl, group.rooms.canvas, { token: owner.token })
  clients.push(alice, bob)
  draw(alice, '#111111', 30)
  await waitFor(() => readStrokes(bob.doc).length === 30)

  await wire.stop()
  draw(alice, '#222222', 30)
  draw(bob, '#333333', 30)
  await waitFor(() => readStrokes(alice.doc).length === 90 && readStrokes(bob.doc).length === 90, 10_000, 'edits keep flowing')
  // Storage is pinged every second; a ping that fails or outlasts MONGODB_TIMEOUT_MS marks it down.
  await waitFor(async () => (await readyz()).status === 503, 10_000, 'readyz reports storage down')
  expect(await readyz()).toMatchObject({ status: 503, body: { storage: 'down' } })

  const refused = connectClient(server.collabUrl, quiet.rooms.chat, { token: owner.token })
  clients.push(refused)
  await waitFor(() => refused.closeEvents.length > 0, 10_000, 'unloadable room refused')
  expect(refused.closeEvents[0]).toMatchObject({ code: CloseCode.tryAgainLater, reason: expect.stringMatching(/unavailable/) })
  expect(refused.provider.synced).toBe(false)
  refused.provider.disconnect()

  await wire.start()
  await waitFor(async () => (await readyz()).status === 200, 20_000, 'ready again')
  const expected = docJson(alice.doc)
  await waitFor(async () => {
    const snapshot = await server.app.storage.snapshots.load(group.rooms.canvas)
    if (!snapshot) return false
    const restored = snapshotDoc(snapshot.update)
    return JSON.stringify(docJson(restored)) === JSON.stringify(expected)
  }, 30_000, 'snapshot holds every edit')

  const back = await connectSynced(server.collabUrl, quiet.rooms.chat, { token: owner.token })
  clients.push(back)
  expect(readAllMessages(back.doc).map((m) => m.text)).toEqual(['history'])
}, 90_000)
