/**
 * Updates held for content nobody has sent are bounded per user as well as per socket (a user's
 * sockets together hold at most 3x what one socket may), and are not held forever: past
 * HELD_UPDATE_MAX_AGE_MS an update the client sent as its own edit closes its socket with 1008,
 * while one that came in a sync step 2 (a resend of all the client has) is answered with
 * permission-denied and its socket stays. Honest users in the room notice nothing.
 * Real server, raw sockets for the hostile member, stock clients for the honest ones.
 */
import { describe, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Client, RawSocket } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { deniedReasons, healthy, logEntries, rawUpdate, syncStep2, useAttackServer, type AttackContext } from '../helpers/hostile.ts'
import type { TestUser } from '../helpers/api.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

/** Per socket (server/collab/index.ts HELD_PER_SOCKET); per user it is 3x (SOCKETS_PER_USER). */
const PER_SOCKET = { updates: 64, bytes: 1024 * 1024 }
const PER_USER = { updates: 3 * PER_SOCKET.updates, bytes: 3 * PER_SOCKET.bytes }

/** An update of one garbage struct at `clock` of `client`: above clock 0 it waits for what is before it. */
function gcAt(client: number, clock: number): Uint8Array {
  return rawUpdate([{ client, clock, structs: [{ kind: 'gc', length: 1 }] }])
}

/** A deletions-only update of content nobody has, under eight ids nobody holds: it waits for that content. */
function waitingDeletions(firstClient: number, ranges: number): Uint8Array {
  return rawUpdate([], Array.from({ length: 8 }, (_, c) => ({ client: firstClient + c, ranges: Array.from({ length: ranges }, (_, i) => [i * 4, 1] as [number, number]) })))
}

function heldOf(ctx: AttackContext, room: string, user: TestUser): { updates: number; bytes: number } {
  const conns = [...ctx.server.app.collab.registry.get(room)!.conns].filter((c) => c.principal.userId === user.id)
  return { updates: conns.reduce((sum, c) => sum + c.held.length, 0), bytes: conns.reduce((sum, c) => sum + c.heldBytes, 0) }
}

const isOpen = (socket: RawSocket): boolean => socket.ws.readyState === WebSocket.OPEN

/** Alice and Bob draw with stock clients and see each other's strokes; nobody closed them. */
async function honestPairWorks(alice: Client, bob: Client, users: { alice: TestUser; bob: TestUser }, color: string): Promise<void> {
  const before = readStrokes(bob.doc).length
  addStroke(alice.doc, { author: users.alice.id, color, width: 2, tool: 'pen', points: [[1, 1], [2, 2]] })
  addStroke(bob.doc, { author: users.bob.id, color, width: 2, tool: 'pen', points: [[3, 3]] })
  await waitFor(() => readStrokes(bob.doc).length === before + 2 && sameContent(alice.doc, bob.doc), 10_000, `honest strokes ${color} everywhere`)
  expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
}

describe('held updates, per user', () => {
  const ctx = useAttackServer()

  it('refuses a user past 3x the per-socket bound over several sockets, each within its own bound', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const perSocket = 60 // under the 64 a socket may hold
    const sockets = await Promise.all(Array.from({ length: 4 }, () => ctx.hostile(room, ctx.users.mallory)))
    // One socket after another: the first three hold 180 updates, under the user's 192.
    for (let s = 0; s < 3; s++) {
      for (let i = 1; i <= perSocket; i++) sockets[s]!.send(syncUpdateFrame(gcAt(0x4d000000 + s, i)))
      await waitFor(() => heldOf(ctx, room, ctx.users.mallory).updates === (s + 1) * perSocket, 10_000, `socket ${s}'s updates held`)
    }
    expect(sockets.every(isOpen)).toBe(true)
    await honestPairWorks(alice, bob, ctx.users, '#101010')

    // The fourth socket, within its own bound, passes the user's: refused once the user holds 192.
    const fourth = sockets[3]!
    for (let i = 1; i <= perSocket; i++) fourth.send(syncUpdateFrame(gcAt(0x4d000003, i)))
    await waitFor(() => !isOpen(fourth) || heldOf(ctx, room, ctx.users.mallory).updates === 4 * perSocket, 10_000, 'refused, or all held')
    const closed = await Promise.race([fourth.closed, sleep(2_000).then(() => null)])
    expect(closed, `the user holds ${heldOf(ctx, room, ctx.users.mallory).updates} updates`).toEqual({ code: CloseCode.policyViolation, reason: expect.stringMatching(/waiting for content/) })
    expect(heldOf(ctx, room, ctx.users.mallory).updates).toBeLessThanOrEqual(PER_USER.updates)
    expect(sockets.slice(0, 3).every(isOpen)).toBe(true) // the others keep what they hold

    // Another user's socket may still hold an update: the bound is the user's, not the room's.
    const alicesRaw = await ctx.hostile(room, ctx.users.alice)
    alicesRaw.send(syncUpdateFrame(gcAt(0x4d0000a1, 1)))
    await waitFor(() => heldOf(ctx, room, ctx.users.alice).updates === 1, 10_000, 'alice\'s update held')
    expect(isOpen(alicesRaw)).toBe(true)
    await honestPairWorks(alice, bob, ctx.users, '#202020')
    expect((await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))).not.toContain(ctx.users.mallory.id)
    expect(await healthy(ctx.server.url)).toBe(true)
  }, 60_000)

  it('counts the bytes a user holds over several sockets too', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const sockets = await Promise.all(Array.from({ length: 4 }, () => ctx.hostile(room, ctx.users.mallory)))
    // Three updates of ~330 KB a socket: under 1 MiB a socket; four sockets pass 3 MiB.
    const updates = sockets.map((_, s) => Array.from({ length: 3 }, (_, u) => waitingDeletions(0x5a000000 + s * 64 + u * 8, 11_000)))
    const sizes = updates.map((list) => list.reduce((sum, u) => sum + u.length, 0))
    expect(Math.max(...sizes)).toBeLessThan(PER_SOCKET.bytes)
    expect(sizes.slice(0, 3).reduce((a, b) => a + b, 0)).toBeLessThan(PER_USER.bytes)
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(PER_USER.bytes)
    let expected = 0
    for (let s = 0; s < 3; s++) {
      for (const update of updates[s]!) sockets[s]!.send(syncUpdateFrame(update))
      expected += sizes[s]!
      await waitFor(() => heldOf(ctx, room, ctx.users.mallory).bytes === expected, 10_000, `socket ${s}'s bytes held`)
    }
    for (const update of updates[3]!) sockets[3]!.send(syncUpdateFrame(update))
    await waitFor(() => !isOpen(sockets[3]!) || heldOf(ctx, room, ctx.users.mallory).bytes === expected + sizes[3]!, 10_000, 'refused, or all held')
    const closed = await Promise.race([sockets[3]!.closed, sleep(2_000).then(() => null)])
    expect(closed).toEqual({ code: CloseCode.policyViolation, reason: expect.stringMatching(/waiting for content/) })
    expect(heldOf(ctx, room, ctx.users.mallory).bytes).toBeLessThanOrEqual(PER_USER.bytes)
    expect(sockets.slice(0, 3).every(isOpen)).toBe(true)
    await honestPairWorks(alice, bob, ctx.users, '#303030')
  }, 60_000)
})

describe('held updates, their age (HELD_UPDATE_MAX_AGE_MS=1000)', () => {
  const ctx = useAttackServer(() => ({ heldUpdateMaxAgeMs: 1_000 }))

  it('closes a socket whose own edit waited too long with 1008; a resend waiting as long gets permission-denied and keeps its socket', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const edit = await ctx.hostile(room, ctx.users.mallory)
    const resend = await ctx.hostile(room, ctx.users.mallory)
    const sentAt = Date.now()
    edit.send(syncUpdateFrame(gcAt(0x4e000001, 1))) // an update message: the client's own edit
    resend.send(syncStep2(gcAt(0x4e000002, 1))) // a sync step 2: what the client passes on
    await waitFor(() => heldOf(ctx, room, ctx.users.mallory).updates === 2, 10_000, 'both held')
    await honestPairWorks(alice, bob, ctx.users, '#404040')

    const closed = await Promise.race([edit.closed, sleep(8_000).then(() => null)])
    const after = Date.now() - sentAt
    expect(closed).toEqual({ code: CloseCode.policyViolation, reason: expect.stringMatching(/waited too long/) })
    expect(after).toBeGreaterThanOrEqual(1_000)
    expect(after).toBeLessThan(5_000) // looked at every second
    await waitFor(() => deniedReasons(resend).length > 0, 3_000, 'the resend declined')
    expect(deniedReasons(resend)).toHaveLength(1)
    expect(heldOf(ctx, room, ctx.users.mallory).updates).toBe(0) // given up on
    await sleep(1_500) // a sweep later: still open, nothing more said
    expect(isOpen(resend)).toBe(true)
    expect(deniedReasons(resend)).toHaveLength(1)

    // The socket that kept its place still works: a fresh update waits and is declined again.
    resend.send(syncStep2(gcAt(0x4e000002, 2)))
    await waitFor(() => deniedReasons(resend).length === 2, 5_000, 'declined again')
    expect(isOpen(resend)).toBe(true)
    await honestPairWorks(alice, bob, ctx.users, '#505050')
    expect((await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))).not.toContain(ctx.users.mallory.id)
    expect(await healthy(ctx.server.url)).toBe(true)
  }, 30_000)

  it('takes a held update whose content arrives in time, and does not expire it afterwards', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    const raw = await ctx.hostile(room, ctx.users.mallory)
    raw.send(syncUpdateFrame(gcAt(0x4e000010, 1)))
    await waitFor(() => heldOf(ctx, room, ctx.users.mallory).updates === 1, 10_000, 'held')
    raw.send(syncUpdateFrame(gcAt(0x4e000010, 0))) // clock 0 arrives: both are taken
    await waitFor(() => heldOf(ctx, room, ctx.users.mallory).updates === 0, 10_000, 'taken')
    await sleep(2_500)
    expect(isOpen(raw)).toBe(true)
    expect(deniedReasons(raw)).toEqual([])
    await honestPairWorks(alice, bob, ctx.users, '#606060')
  }, 30_000)
})
