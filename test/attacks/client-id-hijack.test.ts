/**
 * Attack 1 (issue 13): an editor writes under another connected user's Yjs client id, so that
 * the server and everyone else would drop her later edits as already seen. Garbage, skip and item
 * structs and delete ranges, a few clocks ahead of hers or right at her clock, after she wrote
 * and before (her id is visible in presence). Each must be refused (permission-denied, 4422) or
 * have no effect, and her later edits (live and made offline) must reach everyone, canvas.svg and
 * what the server stores.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, strokesOf } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Client } from '../helpers/clients.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import {
  captureUpdate, deniedReasons, drawnStrokes, durableDoc, healthy, logEntries, presenceSeen, rawUpdate,
  restSvg, snapshotMeta, svgStrokes, useAttackServer, withSections, type RawClientStructs, type RawStruct,
} from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()

const pen = (author: string, at: number) => ({ author, color: '#204080', width: 3, tool: 'pen' as const, points: [[at, at], [at + 1, at + 2]] as Array<[number, number]> })

interface Scene {
  groupId: string
  room: string
  alice: Client
  bob: Client
}

/** Alice and Bob drawing together in a fresh group's canvas; `draw` false: Alice has written nothing. */
async function scene(draw: boolean): Promise<Scene> {
  const group = await ctx.group()
  const room = group.rooms.canvas
  const alice = await ctx.connect(room, ctx.users.alice)
  const bob = await ctx.connect(room, ctx.users.bob)
  alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 }) // as the web client does: her id is now in presence
  addStroke(bob.doc, pen(ctx.users.bob.id, 100))
  if (draw) {
    const mine = addStroke(alice.doc, pen(ctx.users.alice.id, 1))
    for (let i = 0; i < 5; i++) appendPoints(mine, [[i, -i]])
  }
  await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'alice and bob in sync')
  return { groupId: group.id, room, alice, bob }
}

/** What the attacker sends, given her client id and next clock and a stroke of Mallory's own. */
type Forgery = (victim: number, clock: number, own: Uint8Array) => Uint8Array

const MALLORY_CLIENT = 0x7ead0001

/** A stroke of Mallory's own, under her own client id, made by a real Yjs document. */
function ownStroke(client = MALLORY_CLIENT): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = client
  return captureUpdate(doc, () => addStroke(doc, pen(ctx.users.mallory.id, 500)))
}

async function aliceKeepsWorking(s: Scene): Promise<void> {
  const { alice, bob } = s
  const live = addStroke(alice.doc, pen(ctx.users.alice.id, 20))
  appendPoints(live, [[30, 30]])
  await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'alice\'s live edits reach bob')

  alice.provider.disconnect()
  const offline = addStroke(alice.doc, pen(ctx.users.alice.id, 40))
  appendPoints(offline, [[41, 41]])
  alice.provider.connect()
  await alice.synced()
  addStroke(bob.doc, pen(ctx.users.bob.id, 60))
  await waitFor(() => sameContent(alice.doc, bob.doc), 5_000, 'alice\'s offline edits reach bob after she reconnects')
  expect(alice.closeEvents.map((e) => e.code)).not.toContain(CloseCode.updateRefused)
}

async function serverAgrees(s: Scene): Promise<void> {
  const strokes = drawnStrokes(s.alice.doc)
  await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, s.groupId, ctx.users.owner.token))) === JSON.stringify(strokes), 10_000, 'canvas.svg shows what the clients have')
  const stored = await durableDoc(ctx.server, s.room)
  expect(docJson(stored)).toEqual(docJson(s.alice.doc))
  expect(Y.getState(stored.store, s.alice.doc.clientID)).toBe(Y.getState(s.alice.doc.store, s.alice.doc.clientID))
  // and after a compaction, the snapshot alone
  const room = ctx.server.app.collab.registry.get(s.room)!
  await ctx.server.app.collab.compactor.compactHot(room)
  const meta = await snapshotMeta(ctx.server, s.room)
  expect(meta?.stateVector.get(s.alice.doc.clientID)).toBe(Y.getState(s.alice.doc.store, s.alice.doc.clientID))
  expect(meta?.bindings.get(s.alice.doc.clientID)).toBe(ctx.users.alice.id)
  expect(docJson(await durableDoc(ctx.server, s.room))).toEqual(docJson(s.alice.doc))
}

/** No logged update written by Mallory touches Alice's client id. */
async function nothingOfMalloryUnderHerId(s: Scene): Promise<void> {
  const victim = s.alice.doc.clientID
  for (const entry of await logEntries(ctx.server, s.room)) {
    for (const { writer, update } of entry.updates) {
      if (writer !== ctx.users.mallory.id) continue
      const decoded = Y.decodeUpdate(update)
      expect(decoded.structs.some((struct) => struct.id.client === victim)).toBe(false)
      expect(decoded.ds.clients.has(victim)).toBe(false)
    }
  }
  expect(ctx.server.app.collab.registry.get(s.room)!.gates.current!.index.bindings.get(victim)).toBe(ctx.users.alice.id)
}

const MILLION = 1_000_000
const section = (client: number, clock: number, structs: RawStruct[]): RawClientStructs => ({ client, clock, structs })

const forgeries: Array<[string, Forgery]> = [
  ['a garbage range a few clocks ahead of her, 1,000,000 long', (v, clock) => rawUpdate([section(v, clock + 3, [{ kind: 'gc', length: MILLION }])])],
  ['a garbage range at her next clock', (v, clock) => rawUpdate([section(v, clock, [{ kind: 'gc', length: MILLION }])])],
  ['a garbage range from clock 0, over what she wrote and beyond', (v, clock) => rawUpdate([section(v, 0, [{ kind: 'gc', length: clock + MILLION }])])],
  ['a skip, then garbage', (v, clock) => rawUpdate([section(v, clock, [{ kind: 'skip', length: 3 }, { kind: 'gc', length: MILLION }])])],
  ['an item at her next clock', (v, clock) => rawUpdate([section(v, clock, [{ kind: 'item', parent: 'strokes', values: ['x'] }])])],
  ['an item a few clocks ahead', (v, clock) => rawUpdate([section(v, clock + 5, [{ kind: 'item', parent: 'strokes', values: ['x'] }])])],
  ['a delete range over her future clocks', (v, clock) => rawUpdate([], [{ client: v, ranges: [[clock, MILLION]] }])],
  ['a garbage range beside a stroke of Mallory\'s own', (v, clock, own) => withSections(own, [section(v, clock + 2, [{ kind: 'gc', length: MILLION }])])],
  ['a delete range over her future clocks beside a stroke of Mallory\'s own', (v, clock, own) => Y.mergeUpdates([own, rawUpdate([], [{ client: v, ranges: [[clock, MILLION]] }])])],
]

async function attack(s: Scene, forgery: Forgery): Promise<void> {
  const victim = s.alice.doc.clientID
  const mallory = await ctx.hostile(s.room, ctx.users.mallory)
  mallory.send(syncUpdateFrame(forgery(victim, Y.getState(s.alice.doc.store, victim), ownStroke())))
  expect(await healthy(ctx.server.url)).toBe(true)
  expect((await mallory.closed).code).toBe(CloseCode.updateRefused)
  expect(deniedReasons(mallory).join()).toMatch(/belongs to another user|does not have/)
}

describe('client-id hijack', () => {
  it.each(forgeries)('refuses %s, after she wrote', async (_name, forgery) => {
    const s = await scene(true)
    await attack(s, forgery)
    await aliceKeepsWorking(s)
    await nothingOfMalloryUnderHerId(s)
    await serverAgrees(s)
  })

  it.each(forgeries.slice(0, 2))('refuses %s, before she wrote anything (her id seen in presence)', async (_name, forgery) => {
    const s = await scene(false)
    const watcher = await ctx.hostile(s.room, ctx.users.mallory)
    await waitFor(() => presenceSeen(watcher).has(s.alice.doc.clientID), 10_000, 'alice\'s id visible in presence')
    await attack(s, forgery)
    await aliceKeepsWorking(s)
    await nothingOfMalloryUnderHerId(s)
    await serverAgrees(s)
  })

  it.each([
    ['at her next clock', (clock: number) => clock],
    ['from clock 0, over what she wrote', () => 0],
  ])('does not let a skip range under her id (%s), beside a stroke of Mallory\'s own, move the server\'s state vector past her', async (_name, from) => {
    // Yjs ignores skip ranges, and the gate lets the update through for Mallory's own stroke;
    // the server must not then count the skipped clocks as content it has: it would stop asking
    // Alice for her edits (its sync step 1 would claim it has them) and she would lose her
    // offline work on reconnect.
    const s = await scene(true)
    const victim = s.alice.doc.clientID
    const clock = Y.getState(s.alice.doc.store, victim)
    const mallory = await ctx.hostile(s.room, ctx.users.mallory)
    const forged = withSections(ownStroke(), [section(victim, from(clock), [{ kind: 'skip', length: clock - from(clock) + MILLION }])])
    mallory.send(syncUpdateFrame(forged))
    const settled = await Promise.race([
      mallory.closed.then(({ code }) => `closed ${code}`),
      waitFor(() => strokesOf(s.bob.doc).length === 3, 10_000, 'mallory\'s own stroke arrives').then(() => 'accepted'),
    ])
    expect(['accepted', `closed ${CloseCode.updateRefused}`]).toContain(settled)
    expect(await healthy(ctx.server.url)).toBe(true)
    await aliceKeepsWorking(s)
    await serverAgrees(s)
    const room = ctx.server.app.collab.registry.get(s.room)!
    expect(room.bytes.vectorMap.get(victim)).toBe(Y.getState(s.alice.doc.store, victim))
  })

  it('refuses garbage under her id after the room was evicted and reloaded from its snapshot, while she is offline', async () => {
    const s = await scene(true)
    const victim = s.alice.doc.clientID
    s.alice.provider.disconnect()
    s.bob.provider.disconnect()
    await waitFor(async () => !ctx.server.app.collab.registry.isHot(s.room) && (await snapshotMeta(ctx.server, s.room)) !== null, 10_000, 'the room evicted (final compaction)')
    expect((await snapshotMeta(ctx.server, s.room))?.bindings.get(victim)).toBe(ctx.users.alice.id)
    await attack(s, forgeries[0]![1])
    for (const client of [s.bob, s.alice]) {
      client.provider.connect()
      await client.synced()
    }
    await aliceKeepsWorking(s)
    await nothingOfMalloryUnderHerId(s)
    await serverAgrees(s)
  })

  it('does not let a skip range under her presence id, beside a stroke of Mallory\'s own, bind her id to Mallory in the snapshot', async () => {
    // Before Alice writes, her id is hers only through her presence claim. A skip range under it
    // passes the gate with Mallory's own stroke; compaction must not then bind the id to Mallory
    // (after a reload, every edit of Alice's would be refused with 4422).
    const s = await scene(false)
    const victim = s.alice.doc.clientID
    const watcher = await ctx.hostile(s.room, ctx.users.mallory)
    await waitFor(() => presenceSeen(watcher).has(victim), 10_000, 'alice\'s id visible in presence')
    const mallory = await ctx.hostile(s.room, ctx.users.mallory)
    mallory.send(syncUpdateFrame(withSections(ownStroke(), [section(victim, 0, [{ kind: 'skip', length: MILLION }])])))
    await Promise.race([mallory.closed, waitFor(() => strokesOf(s.bob.doc).length === 2, 10_000, 'mallory\'s own stroke arrives')])
    addStroke(s.alice.doc, pen(ctx.users.alice.id, 7))
    await waitFor(() => sameContent(s.alice.doc, s.bob.doc), 10_000, 'alice\'s first stroke reaches bob')
    await ctx.server.app.collab.compactor.compactHot(ctx.server.app.collab.registry.get(s.room)!)
    const bound = (await snapshotMeta(ctx.server, s.room))?.bindings.get(victim)

    for (const client of [s.alice, s.bob]) client.provider.disconnect()
    for (const socket of ctx.sockets) socket.ws.close()
    await waitFor(() => !ctx.server.app.collab.registry.isHot(s.room), 10_000, 'the room evicted')
    s.bob.provider.connect()
    await s.bob.synced()
    const closedBefore = s.alice.closeEvents.length
    s.alice.provider.connect()
    await waitFor(() => s.alice.provider.synced || s.alice.closeEvents.length > closedBefore, 10_000, 'alice syncs again (or is closed)')
    addStroke(s.alice.doc, pen(ctx.users.alice.id, 9))
    await waitFor(() => sameContent(s.alice.doc, s.bob.doc) || s.alice.closeEvents.length > closedBefore, 10_000, 'alice\'s stroke after the reload reaches bob (or she is closed)')
    expect(s.alice.closeEvents.slice(closedBefore)).toEqual([])
    expect(bound).toBe(ctx.users.alice.id)
    await aliceKeepsWorking(s)
    await serverAgrees(s)
  })
})
