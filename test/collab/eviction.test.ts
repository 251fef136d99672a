import { describe, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { BACKENDS } from '../helpers/backends.ts'
import { roomDoc } from '../helpers/docs.ts'

describe.each(BACKENDS)('on $name storage', ({ fresh }) => {
  const ctx = useFreshServer(() => ({ ...fresh(), roomGraceMs: 150 }))

  it('a room leaves memory after its last client leaves, and comes back intact', async () => {
    const client = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    client.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    addStroke(client.doc, { author: ctx.fx.owner.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    await waitFor(() => readStrokes(roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)).length === 1)
    client.destroy()

    await waitFor(() => ctx.server.app.collab.registry.size === 0, 5_000, 'eviction')
    expect(ctx.server.app.collab.server.connectionCount).toBe(0)

    const again = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    expect(readStrokes(again.doc)).toHaveLength(1)
    again.destroy()
    await waitFor(() => ctx.server.app.collab.registry.size === 0, 5_000, 'second eviction')
  })

  it('a client joining within the grace period keeps the same room in memory', async () => {
    const first = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    const room = ctx.server.app.collab.registry.get(ctx.fx.canvas)
    first.destroy()
    // The server saw it leave: the room's grace timer is running.
    await waitFor(() => ctx.server.app.collab.server.connectionCount === 0, 5_000, 'the first socket gone')
    const second = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    // A probe room left after that, with the same grace: once it is evicted, the canvas's grace
    // timer (started earlier) would have fired too, had the second socket not stopped it.
    const probe = await connectSynced(ctx.server.collabUrl, ctx.fx.chat, { token: ctx.fx.token })
    probe.destroy()
    await waitFor(() => !ctx.server.app.collab.registry.isHot(ctx.fx.chat), 5_000, 'the probe room evicted')
    expect(ctx.server.app.collab.registry.get(ctx.fx.canvas)).toBe(room)
    second.destroy()
    await waitFor(() => ctx.server.app.collab.registry.size === 0, 5_000, 'eviction')
  })

  it('a room is evicted even when its final snapshot cannot be saved (the log keeps the data)', async () => {
    const client = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    addStroke(client.doc, { author: ctx.fx.owner.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    await waitFor(() => readStrokes(roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)).length === 1)
    await ctx.server.app.storage.close() // every save now fails
    client.destroy()
    await waitFor(() => ctx.server.app.collab.registry.size === 0, 5_000, 'eviction despite failed save')
    expect(await ctx.server.app.updateLog.size(ctx.fx.canvas)).toBeGreaterThan(0)
  })
})
