/**
 * Updates admitted in parts (intake/update-parts.ts): after the log lost a chat, two members each
 * resend their own messages, and each one's later messages build on the other's. Whole, each
 * resend waits for the other forever; cut where it starts to wait, each goes in part by part.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { messagesOf, postMessage, readAllMessages } from '../../shared/chat.ts'
import { ChatRules } from '../../server/collab/content/chat-rules.ts'
import { ContentGate, type Author } from '../../server/collab/content/content-gate.ts'
import fc from 'fast-check'
import { cutDeletions, deletionsApart, readyApart, foreignApart } from '../../server/collab/intake/update-parts.ts'
import { encodeDeleteSet, readDeleteSet, type DeleteRange } from '../../server/collab/sync/delete-set.ts'
import type { ClockRanges } from '../../server/collab/sync/struct-slice.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'

const ANN: Author = { userId: 'ann', role: 'editor' }
const BOB: Author = { userId: 'bob', role: 'editor' }

function member(clientId: number): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientId
  return doc
}

function post(doc: Y.Doc, author: string, n: number): void {
  postMessage(doc, { id: `${author}-${n}`, author, authorName: author, text: `hello ${n}`, time: Date.now() })
}

/** Ann and Bob take turns, each seeing the other's messages: Ann 1, Bob 2, Ann 3, Bob 4. */
function interleavedChat(): { ann: Y.Doc; bob: Y.Doc } {
  const ann = member(1)
  const bob = member(2)
  for (let n = 1; n <= 4; n++) {
    const [writer, reader, name] = n % 2 === 1 ? [ann, bob, 'ann'] : [bob, ann, 'bob']
    post(writer, name, n)
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(writer))
  }
  return { ann, bob }
}

/** Admits an update as the intake does: whole if it can, else its ready part, the rest held. */
function admit(gate: ContentGate, update: Uint8Array, author: Author, held: Uint8Array[]): void {
  const verdict = gate.check(update, author)
  if (verdict.kind === 'accept') return gate.accept(verdict.update, author)
  expect(verdict.kind).toBe('pending')
  const parts = verdict.kind === 'pending' ? readyApart(update, verdict.blocked ?? []) : null
  if (!parts) return void held.push(update)
  admit(gate, parts.ready, author, held)
  admit(gate, parts.waiting, author, held)
}

it('two members whose own messages build on each other\'s both get in, part by part', () => {
  const { ann, bob } = interleavedChat()
  const gate = new ContentGate(new ChatRules({ offlineWindowMs: 7 * 86_400_000, maxFutureMs: 120_000 }), { claimedBy: () => undefined })
  const heldOf = { ann: [] as Uint8Array[], bob: [] as Uint8Array[] }
  const annOwn = keepClient(Y.encodeStateAsUpdate(ann), 1)
  const bobOwn = keepClient(Y.encodeStateAsUpdate(bob), 2)
  admit(gate, annOwn, ANN, heldOf.ann)
  admit(gate, bobOwn, BOB, heldOf.bob)
  // What waited is tried again as content arrives (room-intake.ts retryHeld), until nothing moves.
  for (let round = 0; round < 4; round++) {
    for (const [name, author] of [['ann', ANN], ['bob', BOB]] as const) {
      const waiting = heldOf[name].splice(0)
      for (const update of waiting) admit(gate, update, author, heldOf[name])
    }
  }
  expect(heldOf).toEqual({ ann: [], bob: [] })
  expect(gate.index.state(1)).toBe(Y.decodeStateVector(Y.encodeStateVector(ann)).get(1))
  expect(gate.index.state(2)).toBe(Y.decodeStateVector(Y.encodeStateVector(bob)).get(2))
})

it('an update that waits from its first struct on is not cut (nothing of it is ready)', () => {
  const { bob } = interleavedChat()
  const gate = new ContentGate(new ChatRules({ offlineWindowMs: 7 * 86_400_000, maxFutureMs: 120_000 }), { claimedBy: () => undefined })
  const verdict = gate.check(keepClient(Y.encodeStateAsUpdate(bob), 2), BOB)
  expect(verdict.kind).toBe('pending')
  expect(verdict.kind === 'pending' && readyApart(keepClient(Y.encodeStateAsUpdate(bob), 2), verdict.blocked ?? [])).toBeNull()
})

it('a resend passing on two members\' deletions is judged one member at a time', () => {
  const { ann, bob } = interleavedChat()
  messagesOf(ann).delete(0, 1) // Ann deletes her message
  Y.applyUpdate(bob, Y.encodeStateAsUpdate(ann))
  const bobsIndex = readAllMessages(bob).findIndex((m) => m.author === 'bob')
  messagesOf(bob).delete(bobsIndex, 1) // Bob deletes his
  const deletions = new Uint8Array([0, ...Y.encodeStateAsUpdate(bob).subarray(updateInfo(Y.encodeStateAsUpdate(bob)).deleteSetStart)])
  const [annsPart, rest] = foreignApart(deletions, { kind: 'foreign', missing: { client: 1, clock: 0 }, reason: '', waitFor: 'log' })
  expect(annsPart && readDeleteSet(annsPart, 1).map((r) => r.client)).toEqual([1])
  expect(rest && readDeleteSet(rest, 1).map((r) => r.client)).toEqual([2])
})

/** The update's structs of `client` alone, with no deletions. */
function keepClient(update: Uint8Array, client: number): Uint8Array {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  const others = new Map(Y.decodeStateVector(Y.encodeStateVector(doc)))
  others.delete(client)
  const onlyClient = Y.diffUpdate(update, Y.encodeStateVector(others))
  const info = updateInfo(onlyClient)
  return new Uint8Array([...onlyClient.subarray(0, info.deleteSetStart), 0])
}

it('a member\'s deletion of what the ready part holds stays with it; deletions of what waits go with the rest', () => {
  const { ann } = interleavedChat()
  messagesOf(ann).delete(0, 1) // Ann deletes her first message, which builds on nothing
  const gate = new ContentGate(new ChatRules({ offlineWindowMs: 7 * 86_400_000, maxFutureMs: 120_000 }), { claimedBy: () => undefined })
  const whole = Y.encodeStateAsUpdate(ann)
  const own = new Uint8Array([...keepClient(whole, 1).subarray(0, -1), ...whole.subarray(updateInfo(whole).deleteSetStart)])
  const verdict = gate.check(own, ANN)
  expect(verdict.kind).toBe('pending')
  const parts = verdict.kind === 'pending' ? readyApart(own, verdict.blocked ?? []) : null
  expect(parts).not.toBeNull()
  expect(readDeleteSet(parts!.ready, updateInfo(parts!.ready).deleteSetStart)).toEqual([{ client: 1, clock: 0, length: 1 }])
  expect(gate.check(parts!.ready, ANN).kind).toBe('accept')
})

it('a deletion reaching past the cut is cut there: the ready part deletes what it holds, the rest what waits', () => {
  const { ann } = interleavedChat()
  messagesOf(ann).delete(2, 1) // Ann deletes her second message (it builds on Bob's first)...
  messagesOf(ann).delete(0, 1) // ...and her first: one range over both her clocks
  const gate = new ContentGate(new ChatRules({ offlineWindowMs: 7 * 86_400_000, maxFutureMs: 120_000 }), { claimedBy: () => undefined })
  const whole = Y.encodeStateAsUpdate(ann)
  const own = new Uint8Array([...keepClient(whole, 1).subarray(0, -1), ...whole.subarray(updateInfo(whole).deleteSetStart)])
  expect(readDeleteSet(own, updateInfo(own).deleteSetStart)).toEqual([{ client: 1, clock: 0, length: 2 }])
  const verdict = gate.check(own, ANN)
  const parts = verdict.kind === 'pending' ? readyApart(own, verdict.blocked ?? []) : null
  // Apart from its deletion, the ready part's deleted struct would delete the message unseen.
  expect(readDeleteSet(parts!.ready, updateInfo(parts!.ready).deleteSetStart)).toEqual([{ client: 1, clock: 0, length: 1 }])
  expect(readDeleteSet(parts!.waiting, updateInfo(parts!.waiting).deleteSetStart)).toEqual([{ client: 1, clock: 1, length: 1 }])
})

it('cutting deletions at clock ranges keeps every deleted clock once, and only clocks inside go inside', () => {
  const range = fc.record({ client: fc.nat({ max: 2 }), clock: fc.nat({ max: 40 }), length: fc.integer({ min: 1, max: 20 }) })
  const cuts = fc.array(fc.nat({ max: 60 }), { maxLength: 6 }).map((points) => {
    const sorted = [...new Set(points)].sort((a, b) => a - b)
    const ranges: Array<[number, number]> = []
    for (let i = 0; i + 1 < sorted.length; i += 2) ranges.push([sorted[i]!, sorted[i + 1]!])
    return ranges
  })
  fc.assert(fc.property(fc.array(range, { maxLength: 6 }), fc.array(cuts, { minLength: 3, maxLength: 3 }), (deletes, perClient) => {
    const inside = (client: number): ClockRanges => perClient[client]!
    const [within, outside] = cutDeletions(deletes, inside)
    const clocks = (list: readonly DeleteRange[]): string[] => list.flatMap((r) => Array.from({ length: r.length }, (_, i) => `${r.client}:${r.clock + i}`)).sort()
    expect(clocks([...within, ...outside])).toEqual(clocks(deletes))
    for (const r of within) expect(inside(r.client).some(([from, to]) => r.clock >= from && r.clock + r.length <= to)).toBe(true)
    for (const r of outside) for (let c = r.clock; c < r.clock + r.length; c++) expect(inside(r.client).some(([from, to]) => c >= from && c < to)).toBe(false)
  }), { numRuns: 2000 })
})

it('sets a pending delete set apart in one pass: every deleted clock once, the unknown ones waiting, the structs and the rest ready', () => {
  const range = fc.record({ client: fc.integer({ min: 1, max: 6 }), clock: fc.nat({ max: 30 }), length: fc.integer({ min: 1, max: 10 }) })
  fc.assert(fc.property(fc.array(range, { maxLength: 12 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (ranges, knownUpTo, withStructs) => {
    // Clients 1-3 are known up to `knownUpTo`; 4-6 not at all; client 9 writes the structs.
    const unknown = (client: number, clock: number, length: number): Array<[number, number]> => {
      const from = client <= 3 ? Math.max(clock, knownUpTo) : clock
      return from < clock + length ? [[from, clock + length]] : []
    }
    const doc = member(9)
    if (withStructs) messagesOf(doc).push(['x'])
    const structs = Y.encodeStateAsUpdate(doc)
    const update = Y.mergeUpdates([structs, deletionsOnly(ranges)])
    const parts = deletionsApart(update, unknown)
    const clocks = (deletes: DeleteRange[]): string[] => deletes.flatMap((d) => Array.from({ length: d.length }, (_, i) => `${d.client}:${d.clock + i}`)).sort()
    const all = clocks(readDeleteSet(update, updateInfo(update).deleteSetStart))
    const isUnknown = (key: string): boolean => { const [c, k] = key.split(':').map(Number) as [number, number]; return unknown(c, k, 1).length > 0 }
    if (!all.some(isUnknown) || (!withStructs && all.every(isUnknown))) {
      expect(parts).toBeNull()
      return
    }
    const [ready, waiting] = [parts!.ready, parts!.waiting].map((u) => ({ info: updateInfo(u), deletes: clocks(readDeleteSet(u, updateInfo(u).deleteSetStart)) }))
    expect([...ready!.deletes, ...waiting!.deletes].sort()).toEqual(all)
    expect(waiting!.deletes).toEqual(all.filter(isUnknown))
    expect([...ready!.info.clients.keys()]).toEqual(withStructs ? [9] : [])
    expect(waiting!.info.clients.size).toBe(0)
  }), { numRuns: 300 })
})

/** A deletions-only update (Yjs sorts and merges its delete set when merging it in). */
function deletionsOnly(ranges: DeleteRange[]): Uint8Array {
  const update = new Uint8Array([0, ...encodeDeleteSet([])])
  return ranges.length === 0 ? update : Y.mergeUpdates(ranges.map((range) => new Uint8Array([0, ...encodeDeleteSet([range])])))
}
