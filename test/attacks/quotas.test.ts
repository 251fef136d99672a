/**
 * Attack 8 (issue 13): no quotas. Before the fix one user wrote 90 MiB into a room in 4 s. Now:
 * - WRITE_BYTES_PER_MINUTE per user per document: past it the writer's socket is closed with
 *   4529 (and only the writer's); a stock client closed so reconnects and resends, and its edits
 *   arrive once the budget has refilled (here 120 KiB/min, i.e. 2 KiB/s);
 * - MAX_DOC_BYTES: an update that would grow a full document is refused with 4413; deletions
 *   are still taken (here 48 KiB).
 * Nothing refused is logged; everyone else keeps working and converges.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes, strokesOf } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Client } from '../helpers/clients.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { captureUpdate, drawnStrokes, durableDoc, healthy, logEntries, restSvg, svgStrokes, useAttackServer, type AttackContext } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { waitFor } from '../helpers/wait.ts'

const KIB = 1024
const random = prng(8)

/** A stroke of ~1 KB (random coordinates do not compress). */
function drawKilobyte(doc: Y.Doc, author: string): Y.Map<unknown> {
  let stroke!: Y.Map<unknown>
  doc.transact(() => {
    stroke = addStroke(doc, { author, color: '#4060a0', width: 2, tool: 'pen', points: [[random() * 100, random() * 100]] })
    appendPoints(stroke, Array.from({ length: 50 }, () => [random() * 1000, random() * 1000] as [number, number]))
  })
  return stroke
}

/** Bytes of updates `userId` has in the room's log. */
async function loggedBytesOf(ctx: AttackContext, room: string, userId: string): Promise<number> {
  return (await logEntries(ctx.server, room)).flatMap((e) => e.updates).filter((u) => u.writer === userId).reduce((sum, u) => sum + u.update.length, 0)
}

async function agree(ctx: AttackContext, groupId: string, room: string, a: Client, b: Client): Promise<void> {
  await waitFor(() => sameContent(a.doc, b.doc), 15_000, 'clients converge')
  await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, groupId, ctx.users.owner.token))) === JSON.stringify(drawnStrokes(a.doc)), 10_000, 'canvas.svg agrees')
  expect(docJson(await durableDoc(ctx.server, room))).toEqual(docJson(a.doc))
}

describe('WRITE_BYTES_PER_MINUTE', () => {
  const BUDGET = 120 * KIB // refills at 2 KiB/s
  const ctx = useAttackServer(() => ({ writeBytesPerMinute: BUDGET, maxPayloadBytes: BUDGET }))

  it('closes a writer past its per-minute budget with 4529, only the writer, and logs nothing past it', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const doc = new Y.Doc()
    let sent = 0
    while (mallory.ws.readyState === WebSocket.OPEN && sent < 4 * BUDGET) {
      const update = captureUpdate(doc, () => drawKilobyte(doc, ctx.users.mallory.id))
      mallory.send(syncUpdateFrame(update))
      sent += update.length
      if (sent % (16 * KIB) < KIB) expect(await healthy(ctx.server.url)).toBe(true)
    }
    expect((await mallory.closed).code).toBe(CloseCode.writeQuotaExceeded)
    const logged = await loggedBytesOf(ctx, room, ctx.users.mallory.id)
    expect(logged).toBeLessThanOrEqual(BUDGET + 16 * KIB) // the budget plus what refilled meanwhile (generously)
    expect(logged).toBeGreaterThan(BUDGET / 2)

    // Her next socket, at once: still no budget. Bob and Alice write on.
    const again = await ctx.hostile(room, ctx.users.mallory)
    again.send(syncUpdateFrame(captureUpdate(doc, () => drawKilobyte(doc, ctx.users.mallory.id))))
    expect((await again.closed).code).toBe(CloseCode.writeQuotaExceeded)
    for (let i = 0; i < 5; i++) {
      drawKilobyte(alice.doc, ctx.users.alice.id)
      drawKilobyte(bob.doc, ctx.users.bob.id)
    }
    await agree(ctx, group.id, room, alice, bob)
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
    expect(await loggedBytesOf(ctx, room, ctx.users.mallory.id)).toBeLessThanOrEqual(BUDGET + 16 * KIB)

    // The budget is per document: her other room is untouched.
    const chat = await ctx.hostile(group.rooms.chat, ctx.users.mallory)
    const chatDoc = new Y.Doc()
    chat.send(syncUpdateFrame(captureUpdate(chatDoc, () => chatDoc.getArray('messages').push([{ id: 'quota-ok', author: ctx.users.mallory.id, text: 'hi', time: Date.now() }]))))
    await waitFor(async () => (await loggedBytesOf(ctx, group.rooms.chat, ctx.users.mallory.id)) > 0, 10_000, 'her chat message logged')
    expect(chat.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('lets a stock client closed with 4529 reconnect and resend: its edits arrive once the budget refills', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    while (Y.encodeStateAsUpdate(alice.doc).length < BUDGET + 3 * KIB) drawKilobyte(alice.doc, ctx.users.alice.id)
    await waitFor(() => alice.closeEvents.some((e) => e.code === CloseCode.writeQuotaExceeded), 15_000, 'alice closed with 4529')
    expect(bob.closeEvents).toEqual([])
    addStroke(bob.doc, { author: ctx.users.bob.id, color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
    await waitFor(() => sameContent(alice.doc, bob.doc), 30_000, 'alice\'s remaining strokes arrive after the refill')
    expect(readStrokes(bob.doc).filter((s) => s.author === ctx.users.alice.id).length).toBe(readStrokes(alice.doc).filter((s) => s.author === ctx.users.alice.id).length)
    expect(alice.closeEvents.every((e) => e.code === CloseCode.writeQuotaExceeded)).toBe(true)
    await agree(ctx, group.id, room, alice, bob)
  }, 45_000)
})

// Found from outside: 150,000 one-point updates (4.3 MB, within the byte budget) in 1.8 s held
// up rooms of other groups on the node for over a second.
describe('WRITE_UPDATES_PER_MINUTE', () => {
  const UPDATES = 300 // refills at 5 a second
  const ctx = useAttackServer(() => ({ writeUpdatesPerMinute: UPDATES }))

  it('closes a writer of tiny updates past her count with 4529, whatever their bytes; the others write on', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const doc = new Y.Doc()
    const stroke = addStroke(doc, { author: ctx.users.mallory.id, color: '#4060a0', width: 2, tool: 'pen', points: [[1, 1]] })
    mallory.send(syncUpdateFrame(Y.encodeStateAsUpdate(doc)))
    for (let i = 0; i < 3 * UPDATES && mallory.ws.readyState === WebSocket.OPEN; i++) {
      mallory.send(syncUpdateFrame(captureUpdate(doc, () => appendPoints(stroke, [[i % 1000, 1]]))))
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
    }
    expect((await mallory.closed).code).toBe(CloseCode.writeQuotaExceeded)
    const logged = (await logEntries(ctx.server, room)).flatMap((e) => e.updates).filter((u) => u.writer === ctx.users.mallory.id).length
    expect(logged).toBeLessThanOrEqual(UPDATES + 30) // the count, and what refilled meanwhile (generously)

    for (let i = 0; i < 5; i++) {
      drawKilobyte(alice.doc, ctx.users.alice.id)
      drawKilobyte(bob.doc, ctx.users.bob.id)
    }
    await agree(ctx, group.id, room, alice, bob)
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
  })
})

describe('MAX_DOC_BYTES', () => {
  const MAX = 48 * KIB
  const ctx = useAttackServer(() => ({ maxDocBytes: MAX }))

  it.each([
    ['one update at a time', false],
    ['a burst sent at once (before any is logged)', true],
  ])('refuses growing a full document with 4413 (%s), still takes deletions, and logs nothing refused', async (_name, burst) => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const held = () => ctx.server.app.collab.registry.get(room)!.bytes.bytes
    const doc = new Y.Doc()
    let sent = 0
    while (mallory.ws.readyState === WebSocket.OPEN && sent < 3 * MAX) {
      const update = captureUpdate(doc, () => drawKilobyte(doc, ctx.users.mallory.id))
      mallory.send(syncUpdateFrame(update))
      sent += update.length
      if (!burst) await waitFor(() => held() >= sent || mallory.ws.readyState !== WebSocket.OPEN, 10_000, 'the update held (or refused)')
    }
    await waitFor(() => mallory.ws.readyState === WebSocket.CLOSED || held() >= sent, 10_000, 'mallory closed, or all she sent held')
    expect(await healthy(ctx.server.url)).toBe(true)
    expect(held()).toBeLessThanOrEqual(MAX)
    expect(held()).toBeGreaterThan(MAX - 2 * KIB)
    expect((await mallory.closed).code).toBe(CloseCode.documentTooLarge)

    // Growing is refused for everyone now (terminal for a stock client)…
    bob.doc.transact(() => {
      drawKilobyte(bob.doc, ctx.users.bob.id)
      drawKilobyte(bob.doc, ctx.users.bob.id) // more than the room has left
    })
    await waitFor(() => bob.closeEvents.some((e) => e.code === CloseCode.documentTooLarge), 10_000, 'bob refused with 4413')
    // …but erasing is not: Alice erases Mallory's strokes.
    await waitFor(() => strokesOf(alice.doc).length > 0, 10_000, 'alice has the strokes')
    const ids = readStrokes(alice.doc).filter((s) => s.author === ctx.users.mallory.id).slice(0, 10).map((s) => s.id)
    for (const id of ids) eraseStroke(alice.doc, id)
    const owner = await ctx.connect(room, ctx.users.owner)
    await waitFor(() => ids.every((id) => !readStrokes(owner.doc).some((s) => s.id === id)), 10_000, 'the erasures arrive')
    expect(alice.closeEvents).toEqual([])
    expect(held()).toBeLessThanOrEqual(MAX + 2 * KIB)
    const stored = await durableDoc(ctx.server, room)
    expect(docJson(stored)).toEqual(docJson(owner.doc))
    expect(readStrokes(stored).some((s) => s.author === ctx.users.bob.id)).toBe(false) // bob's refused stroke
    await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, group.id, ctx.users.owner.token))) === JSON.stringify(drawnStrokes(owner.doc)), 10_000, 'canvas.svg agrees')
  })
})
