/**
 * Attack 5 (issue 13): a viewer floods presence with ~60 KB frames as fast as it can. Before the
 * fix it was never closed and honest clients were dropped as slow consumers instead. Now its
 * socket runs out of presence budget and is closed with 4429, and honest clients keep their
 * sockets, even one whose network stalls while the flood lasts (its server-side send buffer
 * must not fill with the attacker's presence). Variations: frames that change nothing, and a
 * viewer that opens a fresh socket (with a fresh budget) for every burst.
 *
 * Settings: MAX_BUFFERED_BYTES 4 MiB (a stalled honest client is dropped past it), presence
 * budgets at their defaults (60 changes/s, 64 KiB/s; bursts 120 and 256 KiB).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { awarenessJsonFrame, healthy, hostileSocket, messagesOfSocket, useAttackServer } from '../helpers/hostile.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

const MIB = 1024 * 1024
const ctx = useAttackServer(() => ({ maxBufferedBytes: 4 * MIB }))
const STATE_BYTES = 15 * 1024
const proxies: TcpProxy[] = []
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close()
})
const IDS = 4

/** One frame setting the states of `IDS` ids (from `firstId`) at `clock`: ~60 KB. */
function floodFrame(firstId: number, clock: number): Uint8Array {
  const blob = 'f'.repeat(STATE_BYTES)
  return awarenessJsonFrame(Array.from({ length: IDS }, (_, k) => ({ clientId: firstId + k, clock, json: JSON.stringify({ cursor: { x: clock, y: k }, blob }) })))
}

interface Scene {
  room: string
  alice: Client
  bob: Client
  proxy: TcpProxy
}

/** Alice connects through a proxy (so her network can stall); Bob directly. */
async function scene(): Promise<Scene> {
  const group = await ctx.group()
  const room = group.rooms.canvas
  const proxy = await startTcpProxy(Number(new URL(ctx.server.url).port))
  proxies.push(proxy)
  const alice = await connectSynced(`ws://127.0.0.1:${proxy.port}/collab`, room, { token: ctx.users.alice.token })
  ctx.clients.push(alice)
  const bob = await ctx.connect(room, ctx.users.bob)
  addStroke(alice.doc, { author: ctx.users.alice.id, color: '#112233', width: 2, tool: 'pen', points: [[1, 1]] })
  await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'in sync')
  return { room, alice, bob, proxy }
}

async function honestKeepWorking(s: Scene, x: number): Promise<void> {
  s.alice.provider.awareness.setLocalStateField('cursor', { x, y: 0 })
  addStroke(s.alice.doc, { author: ctx.users.alice.id, color: '#445566', width: 2, tool: 'pen', points: [[x, x]] })
  addStroke(s.bob.doc, { author: ctx.users.bob.id, color: '#778899', width: 2, tool: 'pen', points: [[x, -x]] })
  await waitFor(() => sameContent(s.alice.doc, s.bob.doc) && (s.bob.provider.awareness.getStates().get(s.alice.doc.clientID)?.cursor as { x?: number } | undefined)?.x === x, 15_000, 'honest edits and presence converge')
  const codes = [...s.alice.closeEvents, ...s.bob.closeEvents].map((e) => e.code)
  expect(codes).not.toContain(CloseCode.tryAgainLater) // never dropped as a slow consumer
  expect(codes).toEqual([])
}

describe('presence flood', () => {
  it('closes a viewer flooding 60 KB presence frames with 4429; an honest client whose network stalls meanwhile keeps its socket', async () => {
    const s = await scene()
    const vera = await ctx.hostile(s.room, ctx.users.vera)
    s.proxy.blackhole()
    let sent = 0
    for (let clock = 1; clock <= 300 && vera.ws.readyState === WebSocket.OPEN; clock++) {
      vera.send(floodFrame(0x0f100d00, clock))
      sent++
    }
    expect((await vera.closed).code).toBe(CloseCode.rateLimited)
    expect(await healthy(ctx.server.url)).toBe(true)
    s.alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 })
    s.proxy.heal()
    expect(sent).toBeGreaterThan(4)
    await honestKeepWorking(s, 7)
  })

  it('relays nothing of presence frames that change nothing, however many', async () => {
    const s = await scene()
    const vera = await ctx.hostile(s.room, ctx.users.vera)
    const watcher = await ctx.hostile(s.room, ctx.users.owner)
    vera.send(floodFrame(0x0f200d00, 10))
    await waitFor(() => s.bob.provider.awareness.getStates().has(0x0f200d00), 10_000, 'the first state relayed')
    s.proxy.blackhole()
    for (let i = 0; i < 500; i++) vera.send(floodFrame(0x0f200d00, 1 + (i % 10))) // old clocks: no effect
    vera.send(floodFrame(0x0f200d00, 11)) // one change, after all of them
    await waitFor(() => (s.bob.provider.awareness.getStates().get(0x0f200d00)?.cursor as { x?: number } | undefined)?.x === 11 || vera.ws.readyState === WebSocket.CLOSED, 15_000, 'the last change relayed (or the flood cut)')
    expect(await healthy(ctx.server.url)).toBe(true)
    const relayed = messagesOfSocket(watcher).reduce((n, m) => n + (m.kind === 'awareness' ? m.entries.filter((e) => e.clientId === 0x0f200d00).length : 0), 0)
    expect(relayed).toBeLessThanOrEqual(2)
    s.proxy.heal()
    await honestKeepWorking(s, 8)
  })

  it('bounds a viewer who opens a fresh socket for every burst: an honest client whose network stalls meanwhile keeps its socket', async () => {
    // Each socket spends its presence budget (4 frames of ~60 KB) and closes; the next one starts
    // with a full budget. The budget must hold per user (or address), not only per socket.
    const s = await scene()
    s.proxy.blackhole()
    const SOCKETS = 150
    const CONCURRENT = 10
    let relayable = 0
    for (let start = 0; start < SOCKETS; start += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
        const socket = await hostileSocket(ctx.server, s.room, ctx.users.vera.token)
        const firstId = 0x20000000 + (start + i) * IDS
        for (let clock = 1; clock <= 4; clock++) socket.send(floodFrame(firstId, clock))
        relayable += 4 * IDS * STATE_BYTES
        await waitFor(() => ctx.server.app.collab.registry.get(s.room)?.hasPresence(firstId + IDS - 1) || socket.ws.readyState === WebSocket.CLOSED, 10_000, 'burst taken')
        socket.ws.close()
        await socket.closed
      }))
      if (s.alice.closeEvents.length > 0) break
    }
    expect(relayable).toBeGreaterThan(30 * MIB)
    expect(await healthy(ctx.server.url)).toBe(true)
    s.alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 })
    s.proxy.heal()
    await honestKeepWorking(s, 9)
  }, 60_000)
})
