import { beforeEach, describe, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useFreshServer, type TestServer } from '../helpers/server.ts'
import { sleep, waitFor } from '../helpers/wait.ts'
import { BACKENDS } from '../helpers/backends.ts'

describe.each(BACKENDS)('on $name storage', ({ fresh }) => {
  const ctx = useFreshServer(() => ({ ...fresh(), roomGraceMs: 150 }))
  // Short names for what every test here uses.
  let ROOM: string
  let token: string
  let server: TestServer
  beforeEach(() => {
    server = ctx.server
    ROOM = ctx.fx.canvas
    token = ctx.fx.token
  })

  it('a room leaves memory after its last client leaves, and comes back intact', async () => {
    const client = await connectSynced(server.collabUrl, ROOM, { token })
    client.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    addStroke(client.doc, { author: 'a', color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    await waitFor(() => readStrokes(server.app.collab.registry.get(ROOM)!.doc).length === 1)
    client.destroy()

    await waitFor(() => server.app.collab.registry.size === 0, 5_000, 'eviction')
    expect(server.app.collab.server.connectionCount).toBe(0)

    const again = await connectSynced(server.collabUrl, ROOM, { token })
    expect(readStrokes(again.doc)).toHaveLength(1)
    again.destroy()
    await waitFor(() => server.app.collab.registry.size === 0, 5_000, 'second eviction')
  })

  it('a client joining within the grace period keeps the same room in memory', async () => {
    const first = await connectSynced(server.collabUrl, ROOM, { token })
    const room = server.app.collab.registry.get(ROOM)
    first.destroy()
    await sleep(50)
    const second = await connectSynced(server.collabUrl, ROOM, { token })
    await sleep(300)
    expect(server.app.collab.registry.get(ROOM)).toBe(room)
    second.destroy()
    await waitFor(() => server.app.collab.registry.size === 0, 5_000, 'eviction')
  })

  it('a room is evicted even when its final snapshot cannot be saved (the log keeps the data)', async () => {
    const client = await connectSynced(server.collabUrl, ROOM, { token })
    addStroke(client.doc, { author: 'a', color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    await waitFor(() => readStrokes(server.app.collab.registry.get(ROOM)!.doc).length === 1)
    await server.app.storage.close() // every save now fails
    client.destroy()
    await waitFor(() => server.app.collab.registry.size === 0, 5_000, 'eviction despite failed save')
    expect(await server.app.updateLog.size(ROOM)).toBeGreaterThan(0)
  })
})
