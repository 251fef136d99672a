/**
 * Attack 3 (issue 13): one awareness message listing the socket's own id 3,000-5,000 times with
 * one big state. Before the fix, every entry was decoded, applied and relayed: /healthz stalled
 * for seconds and RSS grew by hundreds of MiB. Now repeated entries count once: what others get
 * is one entry per id, the node keeps answering, memory stays within a small multiple of what
 * was sent, and a state over MAX_PRESENCE_STATE_BYTES (16 KiB) closes the socket with 1007.
 */
import { describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { sameContent } from '../helpers/docs.ts'
import { awarenessJsonFrame, healthy, messagesOfSocket, useAttackServer } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()
const MAX_STATE = 16 * 1024
const MIB = 1024 * 1024

/** `repeats` entries of one id with rising clocks and tiny states, then one state of `stateBytes`. */
function amplifyingFrame(clientId: number, firstClock: number, repeats: number, stateBytes: number): Uint8Array {
  const entries = Array.from({ length: repeats }, (_, i) => ({ clientId, clock: firstClock + i, json: `{"n":${i}}` }))
  entries.push({ clientId, clock: firstClock + repeats, json: JSON.stringify({ cursor: { x: 1, y: 2 }, blob: 'b'.repeat(stateBytes - 40) }) })
  return awarenessJsonFrame(entries)
}

/** Awareness entries for `clientId` a socket received. */
function entriesFor(socket: Parameters<typeof messagesOfSocket>[0], clientId: number): number {
  return messagesOfSocket(socket).reduce((sum, m) => sum + (m.kind === 'awareness' ? m.entries.filter((e) => e.clientId === clientId).length : 0), 0)
}

async function scene() {
  const group = await ctx.group()
  const room = group.rooms.canvas
  const alice = await ctx.connect(room, ctx.users.alice)
  const bob = await ctx.connect(room, ctx.users.bob)
  const watcher = await ctx.hostile(room, ctx.users.owner)
  return { room, alice, bob, watcher }
}

async function victimsKeepWorking({ alice, bob }: Awaited<ReturnType<typeof scene>>): Promise<void> {
  alice.provider.awareness.setLocalStateField('cursor', { x: 42, y: 43 })
  addStroke(alice.doc, { author: ctx.users.alice.id, color: '#000000', width: 2, tool: 'pen', points: [[1, 1]] })
  await waitFor(() => sameContent(alice.doc, bob.doc) && (bob.provider.awareness.getStates().get(alice.doc.clientID)?.cursor as { x?: number } | undefined)?.x === 42, 10_000, 'alice\'s edit and cursor reach bob')
  expect(alice.closeEvents).toEqual([])
  expect(bob.closeEvents).toEqual([])
}

describe('presence amplification', () => {
  it.each([3_000, 5_000])('counts %i repeats of the socket\'s own id once, with a state under the limit', async (repeats) => {
    const s = await scene()
    const attacker = await ctx.hostile(s.room, ctx.users.vera)
    const id = 0x0a110c8
    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    const frames = 10
    let sent = 0
    for (let i = 0; i < frames; i++) {
      const frame = amplifyingFrame(id, 1 + i * (repeats + 1), repeats, MAX_STATE - 1024)
      sent += frame.length
      attacker.send(frame)
      expect(await healthy(ctx.server.url)).toBe(true)
    }
    await waitFor(() => entriesFor(s.watcher, id) > 0 || attacker.ws.readyState === WebSocket.CLOSED, 10_000, 'the state relayed or the attacker closed')
    const rssGrowth = process.memoryUsage().rss - rssBefore
    // One frame is ~60 KB; before the fix one made RSS grow by 555-845 MiB.
    expect(sent).toBeGreaterThan(frames * 20_000)
    expect(rssGrowth).toBeLessThan(Math.max(64 * MIB, 100 * sent))
    // Others got at most one entry per frame for that id, never the repeats.
    expect(entriesFor(s.watcher, id)).toBeGreaterThan(0)
    expect(entriesFor(s.watcher, id)).toBeLessThanOrEqual(frames)
    const state = s.alice.provider.awareness.getStates().get(id) as { user?: { name?: string } } | undefined
    if (state) expect(state.user?.name).toBe('Vera')
    await victimsKeepWorking(s)
    // Past its budget the flood is cut (4429); within it the socket stays.
    if (attacker.ws.readyState === WebSocket.CLOSED) expect((await attacker.closed).code).toBe(CloseCode.rateLimited)
  })

  it('closes a socket whose repeated-id message carries a ~60 KB state (over MAX_PRESENCE_STATE_BYTES) with 1007, relaying nothing', async () => {
    const s = await scene()
    const attacker = await ctx.hostile(s.room, ctx.users.vera)
    const id = 0x0a110c9
    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    const frame = amplifyingFrame(id, 1, 4_000, 60 * 1024)
    expect(frame.length).toBeGreaterThan(80 * 1024)
    attacker.send(frame)
    expect(await healthy(ctx.server.url)).toBe(true)
    expect((await attacker.closed).code).toBe(CloseCode.invalidData)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MIB)
    await victimsKeepWorking(s)
    expect(entriesFor(s.watcher, id)).toBe(0)
    expect(s.bob.provider.awareness.getStates().has(id)).toBe(false)
  })

  it('answers many sockets each sending one amplifying message without relaying the repeats', async () => {
    const s = await scene()
    const attackers = await Promise.all(Array.from({ length: 8 }, () => ctx.hostile(s.room, ctx.users.vera)))
    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    let sent = 0
    attackers.forEach((socket, i) => {
      const frame = amplifyingFrame(0x0b000000 + i, 1, 4_000, MAX_STATE - 1024)
      sent += frame.length
      socket.send(frame)
    })
    expect(await healthy(ctx.server.url)).toBe(true)
    await waitFor(() => attackers.every((_, i) => entriesFor(s.watcher, 0x0b000000 + i) === 1), 10_000, 'one entry relayed per attacker')
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(Math.max(64 * MIB, 100 * sent))
    await victimsKeepWorking(s)
  })
})
