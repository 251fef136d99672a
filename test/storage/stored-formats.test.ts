/**
 * Stored formats outlive releases: snapshots and kept versions in every format an earlier release
 * wrote (a bare update, "YSNP" version 1, version 2) load and render; a snapshot in a later format
 * than this release reads is refused (the room is unavailable, 1013), never served as garbage.
 * Log records of every earlier format are read by test/log/record-codec.test.ts.
 */
import * as Y from 'yjs'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { CloseCode } from '../../shared/close-codes.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { newId } from '../../shared/ids.ts'
import { encodeSnapshot, encodeSnapshotV1 } from '../../server/collab/compaction/snapshot-codec.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { createGroup, groupFixture, injectApi, type Api, type GroupFixture } from '../helpers/api.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
let api: Api
let fx: GroupFixture
const clients: Client[] = []

beforeEach(async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path })
  api = injectApi(server.app)
  fx = await groupFixture(api)
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await server?.close()
  await dir?.remove()
})

/** A canvas with one stroke of `color`, as the bytes of each stored format. */
function canvasState(color: string): Record<'bare' | 'v1' | 'v2', Uint8Array> {
  const doc = new Y.Doc()
  addStroke(doc, { author: fx.owner.id, color, width: 3, tool: 'pen', points: [[1, 2], [3, 4]] })
  const update = Y.encodeStateAsUpdate(doc)
  return {
    bare: update,
    v1: encodeSnapshotV1([update]),
    v2: encodeSnapshot([update], 1, { infos: [updateInfo(update)], stateVector: Y.encodeStateVector(doc), bindings: new Map([[doc.clientID, fx.owner.id]]) }),
  }
}

it('loads a room from a snapshot in each format earlier releases wrote', async () => {
  const colors = { bare: '#111111', v1: '#222222', v2: '#333333' } as const
  for (const format of ['bare', 'v1', 'v2'] as const) {
    const group = await createGroup(api, fx.owner)
    await server.app.storage.snapshots.save(group.rooms.canvas, canvasState(colors[format])[format], '1-0')
    const client = await connectSynced(server.collabUrl, group.rooms.canvas, { token: fx.token })
    clients.push(client)
    expect(readStrokes(client.doc).map((s) => s.color), `snapshot format ${format}`).toEqual([colors[format]])
  }
})

it('renders kept versions stored in each format earlier releases wrote', async () => {
  for (const format of ['bare', 'v1', 'v2'] as const) {
    const color = `#0000${format === 'bare' ? 'aa' : format === 'v1' ? 'bb' : 'cc'}`
    const state = canvasState(color)[format]
    const id = newId()
    await server.app.storage.versions.create({ id, room: fx.canvas, createdAt: Date.now(), name: `kept as ${format}`, authors: [fx.owner.id], bytes: state.length }, state)
    const svg = await server.app.inject({ method: 'GET', url: `/groups/${fx.group.id}/versions/${id}/canvas.svg`, headers: { authorization: `Bearer ${fx.token}` } })
    expect(svg.statusCode, `version format ${format}`).toBe(200)
    expect(svg.body).toContain(color)
  }
})

it('refuses a snapshot of a later format than it reads instead of serving it as something else', async () => {
  const later = canvasState('#444444').v2
  later[4] = 3 // "YSNP" version 3: written by a release this one predates
  await server.app.storage.snapshots.save(fx.canvas, later, '1-0')
  const client = connectClient(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(client)
  await waitFor(() => client.closeEvents.length > 0, 10_000, 'the socket refused')
  expect(client.closeEvents[0]?.code).toBe(CloseCode.tryAgainLater)
  expect(readStrokes(client.doc)).toEqual([])
})
