/**
 * Attack 4 (issue 13): a viewer claims a member's awareness client id with clock 2^40 while her
 * socket reconnects. Before the fix every presence update of hers then closed her socket (1008).
 * Now the claim closes the viewer (1008) and leaves the owner untouched: after reconnecting, her
 * presence updates reach everyone, she is never closed, and her edits converge. Variations: the
 * room forgot its claims (evicted while everyone was away) before the viewer came back first.
 */
import { describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Client } from '../helpers/clients.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { awarenessJsonFrame, drawnStrokes, durableDoc, healthy, hostileSocket, presenceSeen, restSvg, svgStrokes, useAttackServer } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()
const HUGE_CLOCK = 2 ** 40

const cursorOf = (watcher: Client, of: Client) => (watcher.provider.awareness.getStates().get(of.doc.clientID)?.cursor as { x?: number } | undefined)?.x

/** Alice moves her cursor; Bob must see exactly that position. */
async function cursorReaches(alice: Client, bob: Client, x: number): Promise<void> {
  alice.provider.awareness.setLocalStateField('cursor', { x, y: 0 })
  await waitFor(() => cursorOf(bob, alice) === x, 10_000, `alice's cursor at ${x} seen by bob`)
}

/** Vera claims `clientId`: resolves with her close code, or 'taken' if the server took the claim. */
async function claimAs(room: string, clientId: number): Promise<number | 'taken'> {
  const vera = await ctx.hostile(room, ctx.users.vera)
  vera.send(awarenessJsonFrame([{ clientId, clock: HUGE_CLOCK, json: JSON.stringify({ user: { name: 'Alice' }, cursor: { x: -1, y: -1 } }) }]))
  expect(await healthy(ctx.server.url)).toBe(true)
  return Promise.race([
    vera.closed.then(({ code }) => code),
    waitFor(() => ctx.server.app.collab.registry.get(room)?.hasPresence(clientId) && vera.ws.readyState === WebSocket.OPEN, 10_000, 'the claim taken').then(() => 'taken' as const),
  ])
}

async function everythingAgrees(groupId: string, room: string, alice: Client, bob: Client): Promise<void> {
  addStroke(alice.doc, { author: ctx.users.alice.id, color: '#00aa00', width: 2, tool: 'pen', points: [[5, 5]] })
  addStroke(bob.doc, { author: ctx.users.bob.id, color: '#0000aa', width: 2, tool: 'pen', points: [[6, 6]] })
  await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'alice and bob converge')
  await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, groupId, ctx.users.owner.token))) === JSON.stringify(drawnStrokes(alice.doc)), 10_000, 'canvas.svg agrees')
  expect(docJson(await durableDoc(ctx.server, room))).toEqual(docJson(alice.doc))
}

describe('presence lockout', () => {
  it('refuses a viewer\'s claim of a member\'s id (clock 2^40) while she reconnects; her presence keeps working', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#aa0000', width: 2, tool: 'pen', points: [[1, 1]] })
    await cursorReaches(alice, bob, 1)

    alice.provider.disconnect()
    await waitFor(() => !bob.provider.awareness.getStates().has(alice.doc.clientID), 10_000, 'bob saw her leave')
    expect(await claimAs(room, alice.doc.clientID)).toBe(CloseCode.policyViolation)

    alice.provider.connect()
    await alice.synced()
    for (let x = 2; x <= 6; x++) await cursorReaches(alice, bob, x) // every change, from the first after reconnecting
    expect(alice.closeEvents.map((e) => e.code).filter((c) => c !== 1000 && c !== 1005)).toEqual([])
    await everythingAgrees(group.id, room, alice, bob)
  })

  it('refuses the claim while her socket is still open, and leaves her state alone', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    await cursorReaches(alice, bob, 10)
    expect(await claimAs(room, alice.doc.clientID)).toBe(CloseCode.policyViolation)
    expect(cursorOf(bob, alice)).toBe(10)
    await cursorReaches(alice, bob, 11)
    expect(alice.closeEvents).toEqual([])
    await everythingAgrees(group.id, room, alice, bob)
  })

  it.each([
    ['before she wrote anything', false],
    ['after she wrote (her id is bound in the snapshot)', true],
  ])('keeps her working after a viewer claims her id in a room that forgot its claims (evicted while everyone was away), %s', async (_name, wrote) => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    if (wrote) addStroke(alice.doc, { author: ctx.users.alice.id, color: '#aa0000', width: 2, tool: 'pen', points: [[1, 1]] })
    const spy = await ctx.hostile(room, ctx.users.vera)
    await cursorReaches(alice, bob, 20)
    await waitFor(() => presenceSeen(spy).has(alice.doc.clientID), 10_000, 'the viewer sees alice\'s id')
    alice.provider.disconnect()
    bob.provider.disconnect()
    spy.ws.close()
    await waitFor(() => !ctx.server.app.collab.registry.isHot(room), 10_000, 'the room evicted')

    const vera = await ctx.hostile(room, ctx.users.vera) // back first
    vera.send(awarenessJsonFrame([{ clientId: alice.doc.clientID, clock: HUGE_CLOCK, json: JSON.stringify({ user: { name: 'Alice' } }) }]))
    expect(await healthy(ctx.server.url)).toBe(true)
    if (wrote) expect((await vera.closed).code).toBe(CloseCode.policyViolation)
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#aa00aa', width: 2, tool: 'pen', points: [[2, 2]] }) // drawn offline
    const closedBefore = alice.closeEvents.length
    bob.provider.connect()
    await bob.synced()
    alice.provider.connect()
    await waitFor(() => sameContent(alice.doc, bob.doc) || alice.closeEvents.length > closedBefore, 10_000, 'her offline stroke reaches bob (or she is closed)')
    expect(alice.closeEvents.slice(closedBefore)).toEqual([])
    await cursorReaches(alice, bob, 21)
    const seen = bob.provider.awareness.getStates().get(alice.doc.clientID) as { user?: { name?: string } }
    expect(seen.user?.name).toBe('Alice')
    await everythingAgrees(group.id, room, alice, bob)
  })

  it('keeps her claim while a viewer floods the room with claims of fresh ids (10,000+, from many sockets) to push hers out', async () => {
    const group = await ctx.group()
    const room = group.rooms.canvas
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    await cursorReaches(alice, bob, 30) // her id is claimed (she has written nothing)
    alice.provider.disconnect()
    await waitFor(() => !bob.provider.awareness.getStates().has(alice.doc.clientID), 10_000, 'bob saw her leave')

    const IDS_PER_SOCKET = 4
    const SOCKETS = 2_560 // 10,240 claims: past the 10,000 a room remembers
    const BATCH = 100
    for (let start = 0; start < SOCKETS; start += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, async (_, i) => {
        const socket = await hostileSocket(ctx.server, room, ctx.users.vera.token)
        const first = 0x10000000 + (start + i) * IDS_PER_SOCKET
        socket.send(awarenessJsonFrame(Array.from({ length: IDS_PER_SOCKET }, (_, k) => ({ clientId: first + k, clock: 1, json: '{}' }))))
        await waitFor(() => ctx.server.app.collab.registry.get(room)!.hasPresence(first + IDS_PER_SOCKET - 1) || socket.ws.readyState === WebSocket.CLOSED, 10_000, 'claims taken')
        socket.ws.close()
        await socket.closed
      }))
    }
    expect(await healthy(ctx.server.url)).toBe(true)
    const claim = await claimAs(room, alice.doc.clientID)

    const closedBefore = alice.closeEvents.length
    addStroke(alice.doc, { author: ctx.users.alice.id, color: '#aa00aa', width: 2, tool: 'pen', points: [[2, 2]] })
    alice.provider.connect()
    await waitFor(() => sameContent(alice.doc, bob.doc) || alice.closeEvents.length > closedBefore, 10_000, 'her stroke reaches bob (or she is closed)')
    expect(alice.closeEvents.slice(closedBefore)).toEqual([])
    await cursorReaches(alice, bob, 31)
    await everythingAgrees(group.id, room, alice, bob)
    expect(claim).toBe(CloseCode.policyViolation)
  }, 60_000)
})
