/**
 * SIGTERM mid-edit: sockets close with 1012 (clients reconnect elsewhere or later), the final
 * compaction runs, the process exits 0 in bounded time, and nothing accepted is lost.
 */
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { EmbeddedLog } from '../../server/log/embedded-log.ts'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { fetchApi, groupFixture } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { spawnServer } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { snapshotDoc } from '../helpers/snapshot-doc.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

let dir: Awaited<ReturnType<typeof tempDir>>
const clients: Client[] = []

beforeAll(async () => {
  dir = await tempDir()
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await dir.remove()
})

it('closes sockets with 1012, compacts, exits 0, and loses nothing accepted', async () => {
  const env = { DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, COMPACT_EVERY_UPDATES: '100000', COMPACT_IDLE_MS: '600000' }
  const server = await spawnServer(env)
  const fx = await groupFixture(fetchApi(server.url))
  const writer = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  const observer = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(writer, observer)

  let writing = true
  const writing$ = (async () => {
    for (let i = 0; writing; i++) {
      addStroke(writer.doc, { author: fx.owner.id, color: '#445566', width: 2, tool: 'pen', id: `s${i}`, points: [[i, i]] })
      await sleep(2)
    }
  })()
  await sleep(300)
  const exitCode = server.kill('SIGTERM')
  await waitFor(() => observer.closeEvents.length > 0, 10_000, 'sockets closed')
  expect(observer.closeEvents[0]).toMatchObject({ code: CloseCode.serviceRestart })
  const accepted = new Set(readStrokes(observer.doc).map((s) => s.id)) // what the server had broadcast
  expect(await exitCode).toBe(0)
  writing = false
  await writing$

  // The final compaction ran: everything is in the snapshot and the log is empty.
  const storage = await EmbeddedStorage.open(dir.path)
  const log = await EmbeddedLog.open(path.join(dir.path, 'log'), { fsync: false })
  const snapshot = await storage.snapshots.load(fx.canvas)
  expect(await log.size(fx.canvas)).toBe(0)
  await log.close()
  await storage.close()
  const restored = snapshotDoc(snapshot!.update)
  const stored = new Set(readStrokes(restored).map((s) => s.id))
  for (const id of accepted) expect(stored.has(id), `accepted stroke ${id} kept`).toBe(true)

  // Clients come back when the server does, and send what was never accepted.
  const again = await spawnServer(env)
  writer.provider.serverUrl = again.collabUrl
  observer.provider.serverUrl = again.collabUrl
  try {
    const written = readStrokes(writer.doc).length
    await waitFor(() => readStrokes(observer.doc).length === written, 20_000, 'everything written arrives after the restart')
  } finally {
    await again.kill()
  }
}, 60_000)
