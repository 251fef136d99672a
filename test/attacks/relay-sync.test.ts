/**
 * Issue 14's tests against the relay-first room (it holds bytes, not a Y.Doc):
 * - a raw client sending its updates out of order (dependencies later) and a stock client both
 *   converge; past the per-socket bound of held updates the sender is closed (1008), nobody else;
 * - a client reconnecting with a non-empty state vector gets exactly what it lacks: the server's
 *   answer frames, captured on a raw socket, compared with a Y.Doc diff;
 * - server reads (REST messages, canvas.svg) and what the server stores, after thousands of
 *   socket edits (with compactions in between), match the clients.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes, strokesOf } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { TestUser } from '../helpers/api.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import {
  decodeServerFrame, deniedReasons, drawnStrokes, durableDoc, healthy, hostileSocket, logEntries, restMessages, restSvg, svgStrokes, syncStep1, useAttackServer,
} from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer(() => ({ compactEveryUpdates: 500 }))
const random = prng(14)

const point = (): [number, number] => [Math.round(random() * 10_000) / 10, Math.round(random() * 10_000) / 10]

/** The updates a document makes for `edits` (each its own transaction), in order. */
function recordUpdates(doc: Y.Doc, edits: Array<() => void>): Uint8Array[] {
  const updates: Uint8Array[] = []
  const listener = (update: Uint8Array): void => void updates.push(update)
  doc.on('update', listener)
  for (const edit of edits) doc.transact(edit)
  doc.off('update', listener)
  return updates
}

/** Strokes drawn point by point (and the first erased): every update depends on the ones before. */
function drawing(doc: Y.Doc, user: TestUser, strokes: number, pointsEach: number, erase = false): Uint8Array[] {
  const edits: Array<() => void> = []
  const maps: Y.Map<unknown>[] = []
  for (let s = 0; s < strokes; s++) {
    edits.push(() => void maps.push(addStroke(doc, { author: user.id, color: '#205080', width: 3, tool: 'pen', points: [point()] })))
    for (let p = 0; p < pointsEach; p++) edits.push(() => void appendPoints(maps[s]!, [point()]))
  }
  if (erase) edits.push(() => void eraseStroke(doc, maps[0]!.get('id') as string))
  return recordUpdates(doc, edits)
}

describe('out-of-order updates', () => {
  it.each([
    ['reversed', (updates: Uint8Array[]) => [...updates].reverse(), false],
    ['shuffled', (updates: Uint8Array[]) => [...updates].sort(() => random() - 0.5), false],
    ['reversed, the last of them erasing his first stroke (so the erase comes first)', (updates: Uint8Array[]) => [...updates].reverse(), true],
    ['in order but for the erase, which comes first', (updates: Uint8Array[]) => [updates.at(-1)!, ...updates.slice(0, -1)], true],
  ])('converge for a raw client sending its updates %s and a stock client beside it', async (_name, order, erase) => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bobDoc = new Y.Doc()
    const updates = drawing(bobDoc, ctx.users.bob, 6, 8, erase) // at most 6 × 9 + 1 = 55 updates, under the 64 a socket may have held
    const bob = await ctx.hostile(room, ctx.users.bob)
    for (const update of order(updates)) {
      bob.send(syncUpdateFrame(update))
      appendPoints(addStroke(alice.doc, { author: ctx.users.alice.id, color: '#a02020', width: 2, tool: 'marker', points: [point()] }), [point()])
    }
    await waitFor(() => (readStrokes(alice.doc).filter((s) => s.author === ctx.users.bob.id).length === (erase ? 5 : 6) && Y.getState(alice.doc.store, bobDoc.clientID) === Y.getState(bobDoc.store, bobDoc.clientID)) || bob.ws.readyState === WebSocket.CLOSED, 10_000, 'bob\'s strokes reach alice')
    expect(deniedReasons(bob)).toEqual([])
    expect(bob.ws.readyState).toBe(WebSocket.OPEN)
    const check = new Y.Doc()
    Y.applyUpdate(check, Y.encodeStateAsUpdate(alice.doc))
    Y.applyUpdate(bobDoc, Y.encodeStateAsUpdate(alice.doc))
    expect(docJson(bobDoc)).toEqual(docJson(alice.doc))
    expect(alice.doc.store.pendingStructs).toBeNull()
    const stored = await durableDoc(ctx.server, room)
    expect(sameContent(stored, alice.doc)).toBe(true)
    await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, group.id, ctx.users.owner.token))) === JSON.stringify(drawnStrokes(alice.doc)), 10_000, 'canvas.svg agrees')
    expect(alice.closeEvents).toEqual([])
  })

  it('closes a raw client holding more than 64 updates back (1008), and nobody else; nothing of the held updates is logged', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bobDoc = new Y.Doc()
    const updates = drawing(bobDoc, ctx.users.bob, 10, 9)
    const bob = await ctx.hostile(room, ctx.users.bob)
    for (const update of updates.slice(1)) bob.send(syncUpdateFrame(update)) // the first never comes
    expect((await bob.closed).code).toBe(CloseCode.policyViolation)
    expect(await healthy(ctx.server.url)).toBe(true)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#a02020', width: 2, tool: 'pen', points: [point()] })
    const carol = await ctx.connect(room, ctx.users.owner)
    await waitFor(() => sameContent(alice.doc, carol.doc), 10_000, 'alice and the owner converge')
    const writers = (await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))
    expect(writers).not.toContain(ctx.users.bob.id)
    // Bob's stock client, later, brings everything in order
    const bobAgain = await ctx.connect(room, ctx.users.bob)
    Y.applyUpdate(bobAgain.doc, Y.encodeStateAsUpdate(bobDoc))
    await waitFor(() => sameContent(alice.doc, bobAgain.doc) && sameContent(carol.doc, bobAgain.doc), 10_000, 'everyone converges')
  })
})

/** Frames the server sends a raw socket that sends sync step 1 with `stateVector`, up to its sync step 2. */
async function answerTo(room: string, user: TestUser, stateVector: Uint8Array): Promise<Uint8Array[]> {
  const socket = await hostileSocket(ctx.server, room, user.token)
  const before = socket.frames.length
  socket.send(syncStep1(stateVector))
  await waitFor(() => socket.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2'), 10_000, 'the answer')
  socket.ws.close()
  const updates: Uint8Array[] = []
  for (const frame of socket.frames.slice(before)) {
    const message = decodeServerFrame(frame)
    if (message.kind === 'update' || message.kind === 'sync-step2') updates.push(message.update)
    if (message.kind === 'sync-step2') break
  }
  return updates
}

/** Clock ranges per client of an update's structs (skips excluded). */
function structRanges(update: Uint8Array): Map<number, Array<[number, number]>> {
  const ranges = new Map<number, Array<[number, number]>>()
  for (const struct of Y.decodeUpdate(update).structs) {
    if (struct.constructor.name === 'Skip') continue
    const list = ranges.get(struct.id.client) ?? []
    list.push([struct.id.clock, struct.id.clock + struct.length])
    ranges.set(struct.id.client, list)
  }
  return ranges
}

describe('reconnecting with a non-empty state vector', () => {
  it('gets exactly what it lacks, from pieces, deltas and updates since, with deletions', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    // ~700 KB in pieces (a snapshot splits at 256 KiB), then more edits while a reader is away.
    const halfWay = new Y.Doc() // a reader that left half way through: it has part of the pieces
    for (let i = 0; i < 30; i++) {
      alice.doc.transact(() => appendPoints(addStroke(alice.doc, { author: ctx.users.alice.id, color: '#103050', width: 2, tool: 'pen', points: [point()] }), Array.from({ length: 1_200 }, point)))
      if (i === 14) Y.applyUpdate(halfWay, Y.encodeStateAsUpdate(alice.doc))
    }
    await waitFor(() => sameContent(alice.doc, bob.doc), 20_000, 'bob has it all')
    const reader = new Y.Doc() // a reader that left after the first 30 strokes
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(alice.doc))
    const roomOf = () => ctx.server.app.collab.registry.get(room)!
    await ctx.server.app.collab.compactor.compactHot(roomOf())
    expect(roomOf().bytes.contents().pieces.length).toBeGreaterThan(2)

    for (let i = 0; i < 10; i++) addStroke(bob.doc, { author: ctx.users.bob.id, color: '#501030', width: 2, tool: 'pen', points: [point(), point()] })
    for (const stroke of readStrokes(alice.doc).slice(3, 6)) eraseStroke(alice.doc, stroke.id)
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'in sync')
    await ctx.server.app.collab.compactor.compactHot(roomOf()) // a delta piece
    appendPoints(strokesOf(alice.doc).get(0), Array.from({ length: 50 }, point))
    for (let i = 0; i < 5; i++) addStroke(bob.doc, { author: ctx.users.bob.id, color: '#501030', width: 2, tool: 'pen', points: [point()] })
    eraseStroke(bob.doc, readStrokes(bob.doc).at(-1)!.id)
    await waitFor(() => sameContent(alice.doc, bob.doc) && roomOf().bytes.updateCount > 0, 10_000, 'in sync, with updates since the last snapshot')

    const current = new Y.Doc() // a reader that has everything
    Y.applyUpdate(current, Y.encodeStateAsUpdate(alice.doc))
    const readers: Array<[string, Y.Doc]> = [['a reader who left after the first 30 strokes', reader], ['a reader who left after 15', halfWay], ['a reader who has everything', current]]
    for (const [name, doc] of readers) {
      const vector = Y.encodeStateVector(doc)
      const missing = Y.encodeStateAsUpdate(alice.doc, vector) // what Yjs itself would send
      const answer = await answerTo(room, ctx.users.vera, vector)
      for (const update of answer) Y.applyUpdate(doc, update)
      expect(sameContent(doc, alice.doc), name).toBe(true)
      // Nothing it had is sent again: every struct of the answer is past its state vector.
      const known = Y.decodeStateVector(vector)
      for (const update of answer) {
        for (const [client, ranges] of structRanges(update)) {
          for (const [from] of ranges) expect(from, `${name}: client ${client} resent from ${from}`).toBeGreaterThanOrEqual(known.get(client) ?? 0)
        }
      }
      // And everything it lacked is there.
      for (const [client, ranges] of structRanges(missing)) {
        for (const [from, to] of ranges) expect(Y.getState(doc.store, client), `${name}: ${client} ${from}-${to}`).toBeGreaterThanOrEqual(to)
      }
    }
  }, 60_000)
})

describe('server reads after thousands of socket edits', () => {
  it('REST messages, canvas.svg and the stored document match the clients', async () => {
    const group = await ctx.group()
    const canvas = group.rooms.canvas
    const chat = group.rooms.chat
    const [alice, bob] = [await ctx.connect(canvas, ctx.users.alice), await ctx.connect(canvas, ctx.users.bob)]
    const [aliceChat, bobChat] = [await ctx.connect(chat, ctx.users.alice), await ctx.connect(chat, ctx.users.bob)]
    let edits = 0
    for (let round = 0; round < 100; round++) {
      for (const [client, user] of [[alice, ctx.users.alice], [bob, ctx.users.bob]] as const) {
        const stroke = addStroke(client.doc, { author: user.id, color: '#305070', width: 2, tool: 'pen', points: [point()] })
        for (let p = 0; p < 8; p++) appendPoints(stroke, [point()])
        edits += 9
        if (round % 7 === 3) {
          const mine = readStrokes(client.doc).find((s) => s.author === user.id)
          if (mine) eraseStroke(client.doc, mine.id)
          edits++
        }
      }
      postMessage(aliceChat.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: `alice ${round}` })
      postMessage(bobChat.doc, { author: ctx.users.bob.id, authorName: 'not bob', text: `bob ${round}` })
      edits += 2
      if (round % 20 === 0) expect(await healthy(ctx.server.url)).toBe(true)
    }
    expect(edits).toBeGreaterThan(2_000)
    await waitFor(() => sameContent(alice.doc, bob.doc) && sameContent(aliceChat.doc, bobChat.doc), 30_000, 'clients converge')
    const names = new Map([[ctx.users.alice.id, 'Alice'], [ctx.users.bob.id, 'Bob']])
    const expected = readAllMessages(aliceChat.doc).map((m) => ({ ...m, authorName: names.get(m.author) }))
    await waitFor(async () => JSON.stringify(await restMessages(ctx.server.url, group.id, ctx.users.vera.token)) === JSON.stringify(expected), 15_000, 'REST messages match')
    await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, group.id, ctx.users.vera.token))) === JSON.stringify(drawnStrokes(alice.doc)), 15_000, 'canvas.svg matches')
    expect(sameContent(await durableDoc(ctx.server, canvas), alice.doc)).toBe(true)
    expect(sameContent(await durableDoc(ctx.server, chat), aliceChat.doc)).toBe(true)
    for (const client of [alice, bob, aliceChat, bobChat]) expect(client.closeEvents).toEqual([])
  }, 60_000)
})
