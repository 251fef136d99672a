/**
 * What of an update is new (sync/effective-update.ts over sync/known-content.ts): whatever a
 * document holds (contiguous, or past a gap as a snapshot keeps Yjs's pending structs) and
 * whatever overlapping update arrives, the effective part holds nothing the document had, and
 * document + effective part = document + whole update.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { effectivePart } from '../../server/collab/sync/effective-update.ts'
import { KnownContent } from '../../server/collab/sync/known-content.ts'
import { keepStructRanges } from '../../server/collab/sync/struct-slice.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { deletedKeys, structKeys } from '../sim/sim-client.ts'

type Op = { client: 0 | 1; kind: 'insert' | 'delete' | 'set' | 'push'; at: number; text: string }

const op: fc.Arbitrary<Op> = fc.record({
  client: fc.constantFrom(0 as const, 1 as const),
  kind: fc.constantFrom('insert' as const, 'delete' as const, 'set' as const, 'push' as const),
  at: fc.nat({ max: 40 }),
  text: fc.string({ minLength: 1, maxLength: 6 }),
})

/** Two clients editing one document in turns: every update either made, in order. */
function history(ops: readonly Op[]): Uint8Array[] {
  const docs = [new Y.Doc(), new Y.Doc()]
  docs[0]!.clientID = 11
  docs[1]!.clientID = 22
  const updates: Uint8Array[] = []
  for (const doc of docs) doc.on('update', (update: Uint8Array, origin: unknown) => { if (origin !== 'peer') updates.push(update) })
  for (const { client, kind, at, text } of ops) {
    const doc = docs[client]!
    const peer = docs[1 - client]!
    const body = doc.getText('body')
    if (kind === 'insert') body.insert(at % (body.length + 1), text)
    if (kind === 'delete' && body.length > 0) body.delete(at % body.length, Math.min(text.length, body.length - (at % body.length)))
    if (kind === 'set') doc.getMap('meta').set(text, at)
    if (kind === 'push') doc.getArray('list').push([text, at])
    Y.applyUpdate(peer, updates.at(-1) ?? new Uint8Array([0, 0]), 'peer')
  }
  return updates
}

function pick(updates: readonly Uint8Array[], mask: readonly boolean[]): Uint8Array {
  return Y.mergeUpdates(updates.filter((_, i) => mask[i % mask.length]))
}

/** A document holding `held` as a stored piece: in its state vector what Yjs integrates, the rest past a gap. */
function knownFrom(held: Uint8Array): KnownContent {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, held)
  const known = new KnownContent(Y.decodeStateVector(Y.encodeStateVector(doc)))
  known.addPiece(held, updateInfo(held))
  return known
}

const keys = (update: Uint8Array): Set<string> => new Set(structKeys(update))
const deletions = (update: Uint8Array): Set<string> => new Set(deletedKeys(update))

it('the effective part of any update against any held content is exactly what was lacking', () => {
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 25 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 25 }), (ops, heldMask, incomingMask) => {
    const updates = history(ops)
    const held = pick(updates, heldMask)
    const incoming = pick(updates, incomingMask)
    const effective = knownFrom(held).take(incoming, updateInfo(incoming))
    const whole = Y.mergeUpdates([held, incoming])
    const result = effective ? Y.mergeUpdates([held, effective.update]) : held
    expect(keys(result)).toEqual(keys(whole))
    expect(deletions(result)).toEqual(deletions(whole))
    if (!effective) return
    for (const key of keys(effective.update)) expect(keys(held).has(key), `struct ${key} was held`).toBe(false)
    for (const key of deletions(effective.update)) expect(deletions(held).has(key), `deletion ${key} was held`).toBe(false)
  }), { numRuns: 400, seed: 20261206 })
})

it('an update that fills a gap and repeats what lies past it keeps only the gap', () => {
  const doc = new Y.Doc()
  doc.clientID = 7
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  doc.getText('t').insert(0, 'a')
  doc.getText('t').insert(1, 'bc')
  const known = knownFrom(updates[1]!) // holds clocks 1-2 past the gap at clock 0
  const effective = known.take(Y.mergeUpdates(updates), updateInfo(Y.mergeUpdates(updates)))
  expect(structKeys(effective!.update)).toEqual(['7:0'])
  expect(known.knowledge.knownUpTo(7)).toBe(3)
})

it('slicing keeps chosen clock ranges anywhere in a struct, with skips between them', () => {
  fc.assert(fc.property(fc.string({ minLength: 2, maxLength: 30 }), fc.uniqueArray(fc.nat({ max: 30 }), { maxLength: 6 }), (text, cuts) => {
    const doc = new Y.Doc()
    doc.clientID = 5
    doc.getText('t').insert(0, text)
    const whole = Y.encodeStateAsUpdate(doc)
    const length = [...keys(whole)].length
    const bounds = [0, ...cuts.filter((c) => c > 0 && c < length).sort((a, b) => a - b), length]
    const ranges = bounds.slice(1).map((end, i) => [bounds[i]!, end] as [number, number])
    const kept = ranges.filter((_, i) => i % 2 === 0)
    const dropped = ranges.filter((_, i) => i % 2 === 1)
    const part = (chosen: Array<[number, number]>): Uint8Array => new Uint8Array([...keepStructRanges(whole, () => chosen), 0])
    const expected = (chosen: Array<[number, number]>): string[] => chosen.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => `5:${a + i}`))
    expect(structKeys(part(kept))).toEqual(expected(kept))
    const rebuilt = new Y.Doc()
    Y.applyUpdate(rebuilt, part(dropped))
    Y.applyUpdate(rebuilt, part(kept))
    expect(rebuilt.getText('t').toString()).toBe(doc.getText('t').toString())
  }), { numRuns: 300, seed: 20261206 })
})

it('an update with no structs and no deletions is not new (a split resend\'s empty part is never logged)', () => {
  const known = new KnownContent()
  const empty = new Uint8Array([0, 0])
  expect(effectivePart(empty, updateInfo(empty), known.knowledge)).toBeNull()
})
