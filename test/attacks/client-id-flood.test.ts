/**
 * Beyond issue 13's list: an editor minting Yjs client ids. Every client id that writes gets an
 * entry in the room's content index, its bindings, its state vector (sent to everyone who joins)
 * and the snapshot. One update of 1 MB can introduce 120,000 ids (one garbage clock each, all
 * "her own"); the write quota (16 MiB a minute) lets her send sixteen a minute. What the server
 * keeps for such an update must stay within a small multiple of its size, or one editor can
 * exhaust a node's memory in minutes. Each user may introduce a few hundred ids in a document, then
 * one every ten seconds; an update past that is refused.
 */
import { describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { collectGarbage, healthy, rawUpdate, snapshotMeta, useAttackServer } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()

/** Client ids the room's content index has bound to the user. */
function boundTo(room: string, userId: string): number {
  const bindings = ctx.server.app.collab.registry.get(room)?.gates.current?.index.bindings ?? new Map<number, string>()
  return [...bindings.values()].filter((user) => user === userId).length
}

/** Client ids from `first` on (up to `count`) that the room holds structs of. */
function heldIds(room: string, first: number, count: number): number {
  const vector = ctx.server.app.collab.registry.get(room)?.bytes.vectorMap ?? new Map<number, number>()
  return [...vector.keys()].filter((client) => client >= first && client < first + count).length
}

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

  it('refuses her (4422) once her updates have introduced a few hundred client ids, a few at a time; honest sessions keep theirs', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    let sent = 0
    while (mallory.ws.readyState === WebSocket.OPEN && sent < 2_000) {
      const ids = Array.from({ length: 4 }, (_, k) => 0x51000000 + sent + k)
      sent += ids.length
      mallory.send(syncUpdateFrame(rawUpdate(ids.map((client) => ({ client, clock: 0, structs: [{ kind: 'gc' as const, length: 1 }] })))))
      // Collected ranges bind no id (every client passes on others'), but each new id costs her.
      await waitFor(() => heldIds(room, 0x51000000, 2_000) >= sent || mallory.ws.readyState !== WebSocket.OPEN, 10_000, 'taken or refused')
    }
    expect((await mallory.closed).code).toBe(CloseCode.updateRefused)
    expect(heldIds(room, 0x51000000, 2_000)).toBeLessThanOrEqual(260)
    expect(await healthy(ctx.server.url)).toBe(true)
    // Alice draws from three sessions (a stock client takes a new client id each time).
    for (let session = 0; session < 3; session++) {
      const alice = await ctx.connect(room, ctx.users.alice)
      addStroke(alice.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[session, 1]] })
      await waitFor(() => boundTo(room, ctx.users.alice.id) > session, 10_000, 'her stroke taken')
      expect(alice.closeEvents).toEqual([])
      alice.provider.destroy()
    }
  }, 60_000)
})
