/**
 * A presence state relayed from another node that is not renewed lapses like any other, and the
 * relayed owner goes with it (that node may be gone and never say so): the entry is no longer
 * that node's, and after twice the outdated time it is forgotten, so entries of dead nodes' clients
 * do not pile up for the room's life. Unit level, on the Presence class.
 *
 * Observables: `states()` (what a joining socket gets), `idsOfNode` (what the relay drops when a
 * node dies), and the y-protocols clock rule: while the removed entry is kept, a state at a
 * lower clock than the removal does not take effect; once the entry is forgotten, it does.
 */
import { expect, it } from 'vitest'
import { Presence } from '../../server/collab/presence/presence.ts'
import type { RelayedPresence } from '../../server/collab/presence/presence-relay-codec.ts'

const OUTDATED = 30_000
const NODE = 'node-two'
const ID = 4242
const T0 = 1_000_000

function presence(): Presence {
  return new Presence({ boundTo: () => undefined, maxIdsPerSocket: 4, outdatedMs: OUTDATED })
}

function relayed(clock: number, state: unknown): RelayedPresence {
  return { clientId: ID, clock, json: new TextEncoder().encode(JSON.stringify(state)), userId: 'alice', canWrite: true }
}

it('a lapsed remote state loses its node, and is forgotten after twice the outdated time', () => {
  const p = presence()
  expect(p.fromRemote(NODE, [relayed(5, { cursor: { x: 1 } })], T0)).toHaveLength(1)
  expect(p.has(ID)).toBe(true)
  expect(p.idsOfNode(NODE)).toEqual([ID])

  // Not renewed: it lapses (a removal at a newer clock, for this node's sockets).
  const lapsed = p.expire(T0 + OUTDATED)
  expect(lapsed).toMatchObject([{ clientId: ID, clock: 6, json: null }])
  expect(p.has(ID)).toBe(false)
  expect(p.states()).toBeNull()
  expect(p.idsOfNode(NODE)).toEqual([]) // no longer held by the other node here

  // Twice the outdated time after the lapse: the entry is gone. A state at a clock below the
  // removal's (the client's presence started over on a node that came back) now takes effect,
  // which it could not while the removed entry was kept.
  expect(p.expire(T0 + 3 * OUTDATED)).toEqual([])
  const fresh = p.fromRemote(NODE, [relayed(1, { cursor: { x: 2 } })], T0 + 3 * OUTDATED)
  expect(fresh).toMatchObject([{ clientId: ID, clock: 1 }])
  expect(p.has(ID)).toBe(true)
})

it('keeps the removed entry until then: a lower clock does not bring the lapsed state back early', () => {
  const p = presence()
  p.fromRemote(NODE, [relayed(5, { cursor: { x: 1 } })], T0)
  p.expire(T0 + OUTDATED)
  expect(p.expire(T0 + 2 * OUTDATED)).toEqual([]) // one outdated time after the lapse: still kept
  expect(p.fromRemote(NODE, [relayed(3, { cursor: { x: 3 } })], T0 + 2 * OUTDATED)).toEqual([])
  expect(p.states()).toBeNull()
})

it('forgets the lapsed entries of many clients of a node that died without a word', () => {
  const p = presence()
  const ids = Array.from({ length: 50 }, (_, i) => 9000 + i)
  const encoder = new TextEncoder()
  p.fromRemote(NODE, ids.map((clientId) => ({ clientId, clock: 7, json: encoder.encode('{"a":1}'), userId: `u${clientId}`, canWrite: true })), T0)
  expect(p.idsOfNode(NODE)).toHaveLength(50)
  expect(p.expire(T0 + OUTDATED)).toHaveLength(50)
  expect(p.idsOfNode(NODE)).toEqual([])
  p.expire(T0 + 3 * OUTDATED)
  // Every entry forgotten: each id takes a state at clock 1 again.
  const again = p.fromRemote(NODE, ids.map((clientId) => ({ clientId, clock: 1, json: encoder.encode('{"a":2}'), userId: `u${clientId}`, canWrite: true })), T0 + 3 * OUTDATED)
  expect(again).toHaveLength(50)
})
