/**
 * Attack 7 (issue 13): sync step 1 with a made-up, non-empty state vector on a big document. A
 * few bytes ask for (almost) the whole document, computed for that state vector. Before the fix a
 * 7-byte frame got a 9.6 MiB reply and stalled the node; a viewer could loop it. Now answers
 * after the socket's first cost its sync budget (SYNC_BYTES_PER_MINUTE, here 8 MiB): a loop is
 * closed with 4429, the node keeps answering everyone else, and a burst of such frames sent at
 * once must not make the server compute more answers than the budget pays for. The same family:
 * a one-byte presence query answered with every presence state in the room, in a loop, and a
 * fresh socket for every made-up state vector (each socket's first sync is free of its own budget;
 * the user's debt for first syncs is bounded, and past it a first sync is closed 1013: try later).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { GroupResponse } from '../../shared/api.ts'
import type { Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { prng } from '../helpers/random.ts'
import { awarenessJsonFrame, decodeServerFrame, healthy, stateVectorOf, syncStep1, useAttackServer, wireSocket } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'
import { FIRST_SYNCS_IN_DEBT } from '../../server/collab/room/room-budgets.ts'

const MIB = 1024 * 1024
const SYNC_BUDGET = 8 * MIB
// Compaction held off: the room keeps the document as 800 updates since its (empty) base.
const ctx = useAttackServer(() => ({ syncBytesPerMinute: SYNC_BUDGET, compactEveryUpdates: 100_000, compactIdleMs: 3_600_000 }))

let group: GroupResponse
let room: string
let writer: Client
let docBytes = 0

/** ~3 MiB drawn as 800 updates (not yet compacted: the room holds them as updates since its base). */
beforeAll(async () => {
  group = await ctx.group()
  room = group.rooms.canvas
  const random = prng(77)
  writer = await ctx.connect(room, ctx.users.alice)
  ctx.clients.splice(ctx.clients.indexOf(writer), 1) // kept for the whole file
  for (let i = 0; i < 800; i++) {
    writer.doc.transact(() => {
      const stroke = addStroke(writer.doc, { author: ctx.users.alice.id, color: '#336699', width: 2, tool: 'pen', points: [[random() * 1000, random() * 1000]] })
      appendPoints(stroke, Array.from({ length: 200 }, () => [random() * 1000, random() * 1000] as [number, number]))
    })
  }
  docBytes = Y.encodeStateAsUpdate(writer.doc).length
  await waitFor(() => (ctx.server.app.collab.registry.get(room)?.bytes.updateCount ?? 0) >= 800, 30_000, 'the document logged')
}, 60_000)

/** A state vector no client has: one clock of the writer's (so nearly everything is "missing"). */
function madeUp(): Uint8Array {
  return syncStep1(stateVectorOf([[writer.doc.clientID, 1], [123456789, 5]]))
}

/** Counts the answers the room computes for non-empty state vectors (a spy that calls through). */
function countAnswers(): { readonly count: number; restore(): void } {
  const bytes = ctx.server.app.collab.registry.get(room)!.bytes
  const plan = bytes.plan.bind(bytes)
  let count = 0
  bytes.plan = (vector) => {
    count++
    return plan(vector)
  }
  return { get count() { return count }, restore: () => { bytes.plan = plan } }
}

async function othersKeepWorking(): Promise<void> {
  expect(await healthy(ctx.server.url)).toBe(true)
  const bob = await ctx.connect(room, ctx.users.bob)
  addStroke(writer.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[1, 2]] })
  addStroke(bob.doc, { author: ctx.users.bob.id, color: '#ffffff', width: 2, tool: 'pen', points: [[3, 4]] })
  await waitFor(() => sameContent(writer.doc, bob.doc), 20_000, 'a fresh client syncs and edits converge')
  expect(writer.closeEvents).toEqual([])
}

describe('reply amplification', () => {
  it('closes a socket looping made-up state vectors with 4429 once its sync budget is spent', async () => {
    expect(docBytes).toBeGreaterThan(2.5 * MIB)
    const vera = await ctx.hostile(room, ctx.users.vera)
    const answers = countAnswers()
    let received = 0
    let asked = 0
    while (vera.ws.readyState === WebSocket.OPEN && asked < 50) {
      const before = vera.frames.length
      vera.send(madeUp())
      asked++
      await waitFor(() => vera.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2') || vera.ws.readyState !== WebSocket.OPEN, 20_000, 'an answer or the close')
      received = vera.frames.reduce((sum, f) => sum + f.length, 0)
      expect(await healthy(ctx.server.url)).toBe(true)
    }
    answers.restore()
    expect((await vera.closed).code).toBe(CloseCode.rateLimited)
    // The first answer is free; the rest are paid from the budget (each costs about the document).
    const paid = Math.ceil(SYNC_BUDGET / docBytes) + 1
    expect(asked).toBeLessThanOrEqual(paid + 1)
    expect(answers.count).toBeLessThanOrEqual(paid + 1)
    expect(received).toBeLessThan((paid + 1) * docBytes * 1.2)
    await othersKeepWorking()
  }, 60_000)

  it('does not compute more answers than the budget pays for when the made-up state vectors arrive all at once', async () => {
    const vera = await wireSocket(`${ctx.server.collabUrl}/${room}?token=${ctx.users.vera.token}`)
    const answers = countAnswers()
    // 20 messages of ~13 bytes in one TCP write: they arrive in one read.
    vera.writeAll(Array.from({ length: 20 }, madeUp))
    expect(await vera.closed).toBe(CloseCode.rateLimited)
    vera.destroy()
    expect(await healthy(ctx.server.url)).toBe(true)
    await waitFor(async () => {
      const before = answers.count
      await healthy(ctx.server.url)
      return answers.count === before
    }, 20_000, 'the server is done answering')
    answers.restore()
    const paid = Math.ceil(SYNC_BUDGET / docBytes) + 1
    expect(answers.count).toBeLessThanOrEqual(paid + 1)
    await othersKeepWorking()
  }, 60_000)

  it('bounds a member who opens a fresh socket for every made-up state vector (a socket\'s first sync is free of its own budget)', async () => {
    const answeredWith = (socket: { frames: Uint8Array[] }) => socket.frames.some((f) => decodeServerFrame(f).kind === 'sync-step2')
    let answered = 0
    let refused = 0
    for (let i = 0; i < 40 && refused === 0; i++) {
      const socket = await ctx.hostile(room, ctx.users.mallory)
      socket.send(madeUp())
      await waitFor(() => answeredWith(socket) || socket.ws.readyState !== WebSocket.OPEN, 20_000, 'an answer or the close')
      if (answeredWith(socket)) answered++
      else if ((await socket.closed).code === CloseCode.tryAgainLater) refused++ // a first sync waits for her budget to refill
      socket.ws.close()
      await socket.closed
    }
    expect(refused).toBe(1)
    // Her sockets together pay from her budget in this room: three sockets' worth, and first
    // syncs into debt of up to FIRST_SYNCS_IN_DEBT answers.
    expect(answered).toBeLessThanOrEqual(Math.ceil(3 * SYNC_BUDGET / docBytes) + 1 + FIRST_SYNCS_IN_DEBT)
    await othersKeepWorking()
  }, 60_000)

  it('does not answer a loop of 1-byte presence queries with every state in the room, unbounded', async () => {
    // Presence of ~1.2 MB in a room (20 sockets of four users, each with 4 states of 15 KB, within
    // their sockets' and users' presence budgets). A query-awareness message is one byte; its
    // answer is every state.
    const other = await ctx.group()
    const presenceRoom = other.rooms.canvas
    const alice = await ctx.connect(presenceRoom, ctx.users.alice)
    const bob = await ctx.connect(presenceRoom, ctx.users.bob)
    const holderUsers = [ctx.users.vera, ctx.users.mallory, ctx.users.owner, ctx.users.bob]
    const holders = await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.hostile(presenceRoom, holderUsers[i % holderUsers.length]!)))
    holders.forEach((socket, i) => socket.send(awarenessJsonFrame(Array.from({ length: 4 }, (_, k) => ({ clientId: 0x0c000000 + i * 4 + k, clock: 1, json: JSON.stringify({ blob: 'q'.repeat(15_000) }) })))))
    await waitFor(() => [...bob.provider.awareness.getStates().keys()].filter((id) => id >= 0x0c000000 && id < 0x0c000000 + 80).length === 80, 15_000, 'every state relayed')
    const asker = await ctx.hostile(presenceRoom, ctx.users.vera)
    const QUERIES = 24
    let answered = 0
    for (let i = 0; i < QUERIES && asker.ws.readyState === WebSocket.OPEN; i++) {
      const before = asker.frames.length
      asker.send(new Uint8Array([3])) // query awareness
      await waitFor(() => asker.frames.length > before || asker.ws.readyState !== WebSocket.OPEN, 10_000, 'an answer or the close')
      if (asker.frames.length > before) answered++
    }
    const received = asker.frames.reduce((sum, f) => sum + f.length, 0)
    expect(await healthy(ctx.server.url)).toBe(true)
    // 24 bytes asked for ~29 MB. A budget like the sync budget (8 MiB here) would stop it.
    expect(received, `${answered} answers of ~1.2 MB each for ${QUERIES} one-byte queries`).toBeLessThan(2 * SYNC_BUDGET)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[1, 2]] })
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'honest clients converge')
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
  }, 60_000)
})
