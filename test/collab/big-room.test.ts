/**
 * A room bigger than one snapshot piece: stored in pieces by compaction, loaded slice by slice,
 * and sent to fresh clients as pieces + later changes, ending with sync step 2 — so a client
 * that reports `synced` has everything. A sync burst is not mistaken for a slow consumer.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import * as Y from 'yjs'
import { decodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { groupFixture, injectApi } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { docJson, stateVector, roomDoc } from '../helpers/docs.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
const clients: Client[] = []

beforeAll(async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, maxBufferedBytes: 64 * 1024, compactIdleMs: 100 })
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await dir.remove()
})

function fill(doc: Y.Doc, strokes: number, author: string): void {
  doc.transact(() => {
    for (let s = 0; s < strokes; s++) {
      const stroke = addStroke(doc, { author, color: '#224466', width: 2, tool: 'pen', points: [[s, s]] })
      for (let p = 0; p < 60; p++) appendPoints(stroke, [[p + 0.5, s + 0.25]])
    }
  })
}

it('stores, loads and serves a multi-piece room exactly', async () => {
  const fx = await groupFixture(injectApi(server.app))
  const writer = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(writer)
  fill(writer.doc, 1_500, fx.owner.id) // ~1 MiB: several 256 KiB pieces
  await waitFor(async () => {
    const snapshot = await server.app.storage.snapshots.load(fx.canvas)
    return snapshot !== null && decodeSnapshot(snapshot.update).length > 2 && readStrokes(roomDoc(server.app.collab.registry.get(fx.canvas)!)).length === 1_500
  }, 20_000, 'compacted into pieces')
  fill(writer.doc, 10, fx.owner.id) // changes after the base
  await waitFor(() => readStrokes(roomDoc(server.app.collab.registry.get(fx.canvas)!)).length === 1_510)

  const hot = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(hot)
  expect(docJson(hot.doc)).toEqual(docJson(writer.doc))
  expect(stateVector(hot.doc)).toEqual(stateVector(writer.doc))

  writer.destroy()
  hot.destroy()
  await waitFor(() => !server.app.collab.registry.isHot(fx.canvas), 10_000, 'evicted')
  const cold = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(cold)
  expect(readStrokes(cold.doc)).toHaveLength(1_510)
  expect(stateVector(cold.doc)).toEqual(stateVector(writer.doc))
  expect(cold.closeEvents).toEqual([])
})
