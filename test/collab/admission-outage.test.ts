/**
 * Admission that cannot finish (MongoDB down and the membership not cached) ends in the named
 * close code 1013, which a browser can see and y-websocket retries, never in a refused upgrade
 * (a bare 1006 to the client).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CloseCode } from '../../shared/close-codes.ts'
import { createGroup, injectApi, registerUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectClient, type Client } from '../helpers/clients.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let wire: MongoWire
let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
const clients: Client[] = []

beforeAll(async () => {
  wire = await startMongoWire()
  dir = await tempDir()
  // No membership cache, so every socket's admission asks MongoDB.
  server = await startServer({ dataDir: dir.path, mongodbUrl: wire.url, mongodbDb: uniqueDbName(), mongodbTimeoutMs: 500, accessCacheTtlMs: 0 })
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await wire.destroy()
  await dir.remove()
})

it('closes a socket it cannot admit while MongoDB is down with 1013, and admits it once MongoDB is back', async () => {
  const api = injectApi(server.app)
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  await wire.stop()
  const client = connectClient(server.collabUrl, group.rooms.canvas, { token: owner.token })
  clients.push(client)
  await waitFor(() => client.closeEvents.length > 0, 15_000, 'the socket closed')
  expect(client.closeEvents[0]).toEqual({ code: CloseCode.tryAgainLater, reason: 'service unavailable, try again later' })
  await wire.start()
  await client.synced() // y-websocket retries after 1013 on its own
}, 60_000)
