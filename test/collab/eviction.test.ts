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

  it('a client joining while the room leaves memory takes it back at once, whatever its final compaction waits for', async () => {
    const registry = ctx.server.app.collab.registry
    const compactor = ctx.server.app.collab.compactor
    const compactHot = compactor.compactHot.bind(compactor)
    // The final compaction waits on a store that does not answer until the test lets it.
    let finish!: () => void
    const storeAnswers = new Promise<void>((resolve) => { finish = resolve })
    const compacting: string[] = []
    compactor.compactHot = async (room) => {
      compacting.push(room.name)
      await storeAnswers
      return compactHot(room)
    }
    const first = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    addStroke(first.doc, { author: ctx.fx.owner.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    const room = await waitFor(() => { const hot = registry.get(ctx.fx.canvas); return hot && readStrokes(roomDoc(hot)).length === 1 ? hot : undefined })
    first.destroy()
    await waitFor(() => compacting.length === 1 && !registry.isHot(ctx.fx.canvas), 5_000, 'the final compaction under way')

    const second = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    expect(readStrokes(second.doc)).toHaveLength(1)
    expect(registry.get(ctx.fx.canvas)).toBe(room) // the same room, hot again, while the store still hangs
    addStroke(second.doc, { author: ctx.fx.owner.id, color: '#ff0000', width: 1, tool: 'pen', points: [[1, 1]] })
    await waitFor(() => readStrokes(roomDoc(room)).length === 2)
    second.destroy()
    finish()
    await waitFor(() => room.isClosed, 5_000, 'eviction after the store answered')
    expect(compacting).toEqual([ctx.fx.canvas, ctx.fx.canvas]) // evicted again while its first close ran: compacted again
    compactor.compactHot = compactHot
    const third = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    expect(readStrokes(third.doc)).toHaveLength(2)
    expect(registry.get(ctx.fx.canvas)).not.toBe(room)
    third.destroy()
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
