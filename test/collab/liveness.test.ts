/**
 * Sockets that stop reading: a paused TCP socket neither answers pings nor drains what the
 * server sends, so it must be cut (ping timeout) or dropped (slow consumer), never buffered for.
 */
import { afterEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { groupFixture, injectApi } from '../helpers/api.ts'
import { syncStep1 } from '../helpers/hostile.ts'

let ROOM: string
let token: string
let server: TestServer | undefined
let dir: Awaited<ReturnType<typeof tempDir>> | undefined

afterEach(async () => {
  await server?.close()
  await dir?.remove()
})

async function pausedSocket(url: string, syncFirst = false): Promise<WebSocket> {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  // As every client does first: ask for the document (updates are relayed once it has asked).
  if (syncFirst) await new Promise<void>((resolve, reject) => ws.send(syncStep1(Y.encodeStateVector(new Y.Doc())), (error) => (error ? reject(error) : resolve())))
  // Stop reading at the TCP level: no pongs, nothing drained.
  ;(ws as unknown as { _socket: { pause(): void } })._socket.pause()
  return ws
}

it('cuts a socket that stops answering pings', async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, pingIntervalMs: 100 })
  ;({ canvas: ROOM, token } = await groupFixture(injectApi(server.app)))
  const live = await connectSynced(server.collabUrl, ROOM, { token })
  const silent = await pausedSocket(`${server.collabUrl}/${ROOM}?token=${token}`)
  await waitFor(() => server!.app.collab.server.connectionCount === 2)
  await waitFor(() => server!.app.collab.server.connectionCount === 1, 5_000, 'silent socket cut')
  expect(live.provider.wsconnected).toBe(true)
  live.destroy()
  silent.terminate()
})

it('drops a socket that cannot keep up instead of buffering without bound', async () => {
  dir = await tempDir()
  // The writer gets each 360 KB stroke back (its acknowledgement): the limit leaves room for a few.
  server = await startServer({ dataDir: dir.path, maxBufferedBytes: 8 * 1024 * 1024, maxPayloadBytes: 2 * 1024 * 1024, writeBytesPerMinute: 256 * 1024 * 1024 })
  let owner: string
  ;({ canvas: ROOM, token, owner: { id: owner } } = await groupFixture(injectApi(server.app)))
  const writer = await connectSynced(server.collabUrl, ROOM, { token })
  const slow = await pausedSocket(`${server.collabUrl}/${ROOM}?token=${token}`, true)
  await waitFor(() => [...server!.app.collab.registry.get(ROOM)!.conns].every((conn) => conn.synced), 5_000, 'the slow socket asked for the document')
  await waitFor(() => server!.app.collab.server.connectionCount === 2)
  const points = Array.from({ length: 20_000 }, (_, i) => [i * 1.25, i * 0.75] as const) // ~360 KB a stroke
  let strokes = 0
  for (; strokes < 150 && server.app.collab.server.connectionCount === 2; strokes++) {
    addStroke(writer.doc, { author: owner, color: '#123456', width: 2, tool: 'pen', points })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await waitFor(() => server!.app.collab.server.connectionCount === 1, 10_000, 'slow socket dropped')
  expect(writer.provider.wsconnected).toBe(true)
  const reader = await connectSynced(server.collabUrl, ROOM, { token })
  expect(readStrokes(reader.doc)).toHaveLength(strokes)
  expect(Y.encodeStateVector(reader.doc)).toEqual(Y.encodeStateVector(writer.doc))
  writer.destroy()
  reader.destroy()
  slow.terminate()
})
