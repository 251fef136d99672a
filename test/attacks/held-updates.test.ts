/**
 * Hostile members against what the server holds and counts for updates on their way in
 * (room-intake.ts, content-gate.ts, room-writer.ts):
 * - Held updates are looked at again when what they wait for may have arrived. Mallory parks
 *   1 MiB of deletions of content nobody has (held, as Yjs holds a pending delete set) over four
 *   sockets, within every limit. Each of Alice's strokes must not make the server read that MiB
 *   again: the bytes the content gate checks while honest clients draw stay within a small
 *   multiple of the bytes that arrive.
 * - A deletion held for content nobody has yet cannot delete another user's content once it
 *   arrives unless the rules let her: a chat message (only its author or the owner deletes it),
 *   points inside a stroke (only its author changes it). Under an id someone claimed in
 *   presence it is refused at once.
 * - New client ids are counted when an update is taken, also when it was held first: 300 ids
 *   parked behind a missing struct are refused (4422) when the struct arrives.
 * - MAX_DOC_BYTES counts what is on its way to the log: nine sockets of four users, each sending
 *   a ~60 KB stroke at once into a room limited to 256 KiB, cannot pass it together.
 * Nothing refused is logged; honest stock clients converge; /healthz answers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { ContentGate } from '../../server/collab/content/content-gate.ts'
import { connectClient, type Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { captureUpdate, deniedReasons, healthy, logEntries, rawUpdate, restMessages, useAttackServer } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { waitFor } from '../helpers/wait.ts'

const KIB = 1024
const MAX_DOC = 256 * KIB
const ctx = useAttackServer(() => ({ maxDocBytes: MAX_DOC }))
afterEach(() => {
  vi.restoreAllMocks()
})

/** Counts the bytes the content gate reads (a spy that calls through). */
function countChecked(): { readonly bytes: number } {
  let bytes = 0
  const check = ContentGate.prototype.check
  vi.spyOn(ContentGate.prototype, 'check').mockImplementation(function (this: ContentGate, update, author) {
    bytes += update.length
    return check.call(this, update, author)
  })
  return { get bytes() { return bytes } }
}

function heldOf(room: string, userId: string): number {
  return [...ctx.server.app.collab.registry.get(room)!.conns].filter((c) => c.principal.userId === userId).reduce((sum, c) => sum + c.heldBytes, 0)
}

async function writersInLog(room: string): Promise<string[]> {
  return (await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))
}

/** A stock client whose Yjs client id is `clientId` (an id Mallory guessed or saw). */
async function connectAs(room: string, token: string, clientId: number): Promise<Client> {
  const doc = new Y.Doc()
  doc.clientID = clientId
  const client = connectClient(ctx.server.collabUrl, room, { token, doc })
  ctx.clients.push(client)
  await client.synced()
  return client
}

describe('held updates', () => {
  it('does not read held deletions again for every honest stroke', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    // Four sockets, each holding one update of ~256 KB deleting content under ids nobody holds.
    const sockets = await Promise.all(Array.from({ length: 4 }, () => ctx.hostile(room, ctx.users.mallory)))
    let parked = 0
    sockets.forEach((socket, s) => {
      const deletes = Array.from({ length: 16 }, (_, c) => ({ client: 0x5e000000 + s * 64 + c, ranges: Array.from({ length: 5_000 }, (_, i) => [i * 4, 1] as [number, number]) }))
      const update = rawUpdate([], deletes)
      parked += update.length
      socket.send(syncUpdateFrame(update))
    })
    await waitFor(() => heldOf(room, ctx.users.mallory.id) === parked, 10_000, 'her deletions held')
    expect(parked).toBeGreaterThan(768 * KIB)

    const checked = countChecked()
    let sent = 0
    alice.doc.on('update', (update: Uint8Array) => void (sent += update.length))
    const stroke = addStroke(alice.doc, { author: ctx.users.alice.id, color: '#204060', width: 2, tool: 'pen', points: [[0, 0]] })
    for (let i = 1; i <= 30; i++) {
      appendPoints(stroke, [[i, i]])
      await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, `point ${i} reaches bob`)
    }
    expect(checked.bytes, `${Math.round(checked.bytes / KIB)} KiB checked for ${sent} bytes of strokes beside ${Math.round(parked / KIB)} KiB held`).toBeLessThan(4 * sent + parked)
    expect(sockets.every((socket) => socket.ws.readyState === WebSocket.OPEN)).toBe(true) // within the limits: still held
    expect(await writersInLog(room)).not.toContain(ctx.users.mallory.id)
    expect(await healthy(ctx.server.url)).toBe(true)
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
  }, 60_000)

  it('refuses a held deletion of a chat message once it arrives under another user\'s id; at once under an id claimed in presence', async () => {
    const group = await ctx.group()
    const room = group.rooms.chat
    const bob = await ctx.connect(room, ctx.users.bob)
    // Bob's id is claimed in presence (he has not written): a deletion under it is refused at once.
    bob.provider.awareness.setLocalStateField('user', { name: 'Bob' }) // a stock client's first state (clock 0) is taken by nobody
    await waitFor(() => ctx.server.app.collab.registry.get(room)!.hasPresence(bob.doc.clientID), 10_000, 'his presence claimed')
    const early = await ctx.hostile(room, ctx.users.mallory)
    early.send(syncUpdateFrame(rawUpdate([], [{ client: bob.doc.clientID, ranges: [[0, 1]] }])))
    expect((await early.closed).code).toBe(CloseCode.updateRefused)

    // Alice's id, guessed before she connects: the deletion waits for her first message.
    const aliceId = 0x7a110001
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    mallory.send(syncUpdateFrame(rawUpdate([], [{ client: aliceId, ranges: [[0, 1]] }])))
    await waitFor(() => heldOf(room, ctx.users.mallory.id) > 0, 10_000, 'her deletion held')
    const alice = await connectAs(room, ctx.users.alice.token, aliceId)
    postMessage(alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'mine to delete' })
    expect((await mallory.closed).code).toBe(CloseCode.updateRefused)
    expect(deniedReasons(mallory).join()).toMatch(/deleted only by its author/)
    postMessage(bob.doc, { author: ctx.users.bob.id, authorName: 'Bob', text: 'after' })
    await waitFor(() => sameContent(alice.doc, bob.doc) && readAllMessages(bob.doc).length === 2, 10_000, 'both messages everywhere')
    expect((await restMessages(ctx.server.url, group.id, ctx.users.owner.token)).map((m) => m.text)).toEqual(['mine to delete', 'after'])
    expect(await writersInLog(room)).not.toContain(ctx.users.mallory.id)
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
  }, 30_000)

  it('refuses a held deletion of the points inside another user\'s stroke once they arrive', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const bob = await ctx.connect(room, ctx.users.bob)
    const aliceId = 0x7a110002
    // Where her points will be: the same edit made on a scratch document with her id.
    const scratch = new Y.Doc()
    scratch.clientID = aliceId
    const draw = (doc: Y.Doc) => addStroke(doc, { author: ctx.users.alice.id, color: '#aa0000', width: 2, tool: 'pen', points: [[1, 1], [2, 2], [3, 3], [4, 4]] })
    draw(scratch)
    const end = Y.getState(scratch.store, aliceId)
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    mallory.send(syncUpdateFrame(rawUpdate([], [{ client: aliceId, ranges: [[end - 8, 8]] }]))) // her points' numbers
    await waitFor(() => heldOf(room, ctx.users.mallory.id) > 0, 10_000, 'her deletion held')
    const alice = await connectAs(room, ctx.users.alice.token, aliceId)
    draw(alice.doc)
    expect((await mallory.closed).code).toBe(CloseCode.updateRefused)
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'in sync')
    expect((bob.doc.getArray('strokes').get(0) as Y.Map<Y.Array<unknown>>).get('points')!.length).toBe(8) // four points of two numbers
    expect(await writersInLog(room)).not.toContain(ctx.users.mallory.id)
  }, 30_000)

  it('counts new client ids of an update waiting for a struct: 300 ids sent behind a missing one are refused, none of them bound beyond the budget', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const own = 0x6b000000
    // One garbage clock under each of 300 new ids, and clock 1 of her own id (clock 0 not sent yet).
    const ids = Array.from({ length: 300 }, (_, i) => 0x6b0fffff - i)
    mallory.send(syncUpdateFrame(rawUpdate([...ids.map((client) => ({ client, clock: 0, structs: [{ kind: 'gc' as const, length: 1 }] })), { client: own, clock: 1, structs: [{ kind: 'gc', length: 1 }] }])))
    // What does not wait for the missing struct (the 300 ids) is taken at once and charged then;
    // whatever waits is charged when taken: either way she is refused past her budget.
    await waitFor(() => heldOf(room, ctx.users.mallory.id) > 0 || mallory.ws.readyState === WebSocket.CLOSED, 10_000, 'held or refused')
    const boundToHer = () => [...ctx.server.app.collab.registry.get(room)!.gates.current!.index.bindings.values()].filter((user) => user === ctx.users.mallory.id).length
    if (mallory.ws.readyState === WebSocket.OPEN) mallory.send(syncUpdateFrame(rawUpdate([{ client: own, clock: 0, structs: [{ kind: 'gc', length: 1 }] }])))
    await waitFor(() => mallory.ws.readyState === WebSocket.CLOSED || boundToHer() > 256, 10_000, 'refused or taken')
    expect(boundToHer()).toBeLessThanOrEqual(257)
    expect((await mallory.closed).code).toBe(CloseCode.updateRefused)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[5, 5]] })
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'honest clients converge')
  }, 30_000)
})

describe('MAX_DOC_BYTES', () => {
  it('is not passed by nine sockets of four users sending at once', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const bob = await ctx.connect(room, ctx.users.bob)
    const writers = [ctx.users.owner, ctx.users.alice, ctx.users.mallory]
    const sockets = await Promise.all(Array.from({ length: 9 }, (_, i) => ctx.hostile(room, writers[i % 3]!)))
    const random = prng(41)
    const updates = sockets.map((_, i) => {
      const doc = new Y.Doc()
      return captureUpdate(doc, () => addStroke(doc, { author: writers[i % 3]!.id, color: '#406080', width: 2, tool: 'pen', points: Array.from({ length: 3_300 }, () => [random() * 1000, random() * 1000] as [number, number]) }))
    })
    expect(updates.reduce((sum, u) => sum + u.length, 0)).toBeGreaterThan(2 * MAX_DOC)
    sockets.forEach((socket, i) => socket.send(syncUpdateFrame(updates[i]!)))
    const closed = () => sockets.filter((s) => s.ws.readyState === WebSocket.CLOSED).length
    await waitFor(() => closed() + bob.doc.getArray('strokes').length === sockets.length, 15_000, 'every stroke taken (bob has it) or refused')
    const refused = (await Promise.all(sockets.filter((s) => s.ws.readyState !== WebSocket.OPEN).map((s) => s.closed))).map((c) => c.code)
    expect(new Set(refused)).toEqual(new Set([CloseCode.documentTooLarge]))
    const logged = (await logEntries(ctx.server, room)).flatMap((e) => e.updates).reduce((sum, u) => sum + u.update.length, 0)
    expect(logged).toBeLessThanOrEqual(MAX_DOC)
    expect(ctx.server.app.collab.registry.get(room)!.bytes.bytes).toBeLessThanOrEqual(MAX_DOC)
    expect(await healthy(ctx.server.url)).toBe(true)
  }, 30_000)
})
