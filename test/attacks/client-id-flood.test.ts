/**
 * Beyond issue 13's list: an editor minting Yjs client ids. Every client id that writes gets an
 * entry in the room's content index, its bindings, its state vector (sent to everyone who joins)
 * and the snapshot. One update of 1 MB can introduce 120,000 ids (one garbage clock each, all
 * "her own"); the write quota (16 MiB a minute) lets her send sixteen a minute. What the server
 * keeps for such an update must stay within a small multiple of its size, or one editor can
 * exhaust a node's memory in minutes.
 */
import { describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { collectGarbage, healthy, rawUpdate, snapshotMeta, useAttackServer } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()

describe('client-id flood', () => {
  it('keeps what the server holds for an update minting 120,000 client ids within a small multiple of its size', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const update = rawUpdate(Array.from({ length: 120_000 }, (_, i) => ({ client: 0x50000000 + i, clock: 0, structs: [{ kind: 'gc' as const, length: 1 }] })))
    expect(update.length).toBeGreaterThan(1_000_000)
    collectGarbage()
    const before = process.memoryUsage().heapUsed
    mallory.send(syncUpdateFrame(update))
    await waitFor(() => (ctx.server.app.collab.registry.get(room)?.bytes.updateCount ?? 0) > 0 || mallory.ws.readyState !== WebSocket.OPEN, 20_000, 'taken or refused')
    expect(await healthy(ctx.server.url)).toBe(true)
    collectGarbage()
    const retained = process.memoryUsage().heapUsed - before
    expect(retained, `${Math.round(retained / 1e6)} MB of heap kept for a ${Math.round(update.length / 1e6)} MB update`).toBeLessThan(32 * update.length)

    // Honest clients keep working beside it.
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[1, 1]] })
    await waitFor(() => sameContent(alice.doc, bob.doc), 20_000, 'honest clients converge')
    await ctx.server.app.collab.compactor.compactHot(ctx.server.app.collab.registry.get(room)!)
    expect((await snapshotMeta(ctx.server, room))?.bindings.size).toBeGreaterThan(0)
  }, 60_000)
})
