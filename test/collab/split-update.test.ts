import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { decodeSnapshot, decodeSnapshotParts, encodeSnapshot, encodeSnapshotV1 } from '../../server/collab/compaction/snapshot-codec.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { validateUpdateV1 } from '../../server/collab/wire/update-validator.ts'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { docJson, stateVector } from '../helpers/docs.ts'
import { prng, randomInt } from '../helpers/random.ts'
import { sampleUpdates } from '../helpers/sample-updates.ts'

/** A document edited by several clients, with deletions, as a real room accumulates. */
function busyDoc(seed: number): Y.Doc {
  const random = prng(seed)
  const docs = Array.from({ length: 4 }, () => new Y.Doc())
  for (let round = 0; round < 30; round++) {
    const doc = docs[randomInt(random, docs.length)]!
    const stroke = addStroke(doc, { author: 'a', color: '#112233', width: 2, tool: 'pen', points: [[round, round]] })
    for (let i = 0; i < 20; i++) appendPoints(stroke, [[i, randomInt(random, 100)]])
    postMessage(doc, { author: 'a', authorName: 'A', text: `m${round}` })
    const strokes = readStrokes(doc)
    if (random() < 0.3 && strokes.length > 0) eraseStroke(doc, strokes[randomInt(random, strokes.length)]!.id)
    const other = docs[randomInt(random, docs.length)]!
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
  }
  const merged = new Y.Doc()
  for (const doc of docs) Y.applyUpdate(merged, Y.encodeStateAsUpdate(doc))
  return merged
}

describe('splitUpdate', () => {
  it('pieces applied in order rebuild exactly the original state', () => {
    for (const seed of [1, 2, 3]) {
      const doc = busyDoc(seed)
      const update = Y.encodeStateAsUpdate(doc)
      for (const max of [64, 500, 4096, 1 << 20]) {
        const pieces = splitUpdate(update, max)
        for (const piece of pieces) expect(() => validateUpdateV1(piece)).not.toThrow()
        if (max < update.length / 2) expect(pieces.length).toBeGreaterThan(1)
        const rebuilt = new Y.Doc()
        for (const piece of pieces) Y.applyUpdate(rebuilt, piece)
        expect(docJson(rebuilt)).toEqual(docJson(doc))
        expect(stateVector(rebuilt)).toEqual(stateVector(doc))
        expect(Y.encodeStateAsUpdate(rebuilt)).toEqual(update)
      }
    }
  })

  it('pieces applied in reverse still converge', () => {
    const doc = busyDoc(7)
    const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), 300)
    const rebuilt = new Y.Doc()
    for (const piece of [...pieces].reverse()) Y.applyUpdate(rebuilt, piece)
    expect(docJson(rebuilt)).toEqual(docJson(doc))
  })

  it('keeps pieces within the limit unless a single struct is bigger', () => {
    const update = Y.encodeStateAsUpdate(busyDoc(4))
    for (const piece of splitUpdate(update, 2048)) expect(piece.length).toBeLessThan(2048 + 64)
    for (const sample of sampleUpdates()) {
      const rebuilt = new Y.Doc()
      for (const piece of splitUpdate(sample, 16)) Y.applyUpdate(rebuilt, piece)
      const reference = new Y.Doc()
      Y.applyUpdate(reference, sample)
      expect(stateVector(rebuilt)).toEqual(stateVector(reference))
    }
  })
})

describe('snapshot codec', () => {
  it('round-trips pieces with their coverage, the state vector and the bindings', () => {
    const doc = busyDoc(20)
    const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), 64)
    const infos = pieces.map(updateInfo)
    const bindings = new Map([[doc.clientID, 'ann'], [7, 'bøb']])
    const parts = decodeSnapshotParts(encodeSnapshot(pieces, pieces.length - 1, { infos, stateVector: Y.encodeStateVector(doc), bindings }))
    expect(parts.pieces).toEqual(pieces)
    expect(parts.full).toBe(pieces.length - 1)
    expect(parts.infos).toEqual(infos)
    expect(parts.stateVector).toEqual(Y.encodeStateVector(doc))
    expect(parts.bindings).toEqual(bindings)
  })

  it('reads version-1 snapshots (pieces only) and unframed bytes as one update', () => {
    const pieces = [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])]
    expect(decodeSnapshotParts(encodeSnapshotV1(pieces))).toMatchObject({ pieces, infos: null, stateVector: null })
    const plain = Y.encodeStateAsUpdate(busyDoc(5))
    expect(decodeSnapshot(plain)).toEqual([plain])
  })
})

describe('state vectors of pieces', () => {
  it('are exact where Yjs would under-count pieces that do not start at clock 0', async () => {
    const { stateVectorOf, extendStateVector } = await import('../../server/collab/sync/state-vectors.ts')
    const doc = busyDoc(11)
    const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), 200)
    expect(pieces.length).toBeGreaterThan(3)
    expect(Buffer.from(stateVectorOf(pieces)).equals(Buffer.from(Y.encodeStateVector(doc)))).toBe(true)
    const later = new Y.Doc()
    Y.applyUpdate(later, Y.encodeStateAsUpdate(doc))
    const before = Y.encodeStateVector(later)
    postMessage(later, { author: 'b', authorName: 'B', text: 'after the base' })
    const delta = Y.encodeStateAsUpdate(later, before)
    expect(Buffer.from(extendStateVector(Y.encodeStateVector(doc), delta)).equals(Buffer.from(Y.encodeStateVector(later)))).toBe(true)
  })
})

describe('an update of deletions only', () => {
  it('stays whole, its delete set kept, however small the pieces', () => {
    const doc = new Y.Doc()
    doc.transact(() => { for (let i = 0; i < 200; i++) addStroke(doc, { author: 'a', color: '#112233', width: 2, tool: 'pen', points: [[i, i]] }) })
    const before = Y.encodeStateVector(doc)
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    doc.transact(() => { for (const stroke of readStrokes(doc).filter((_, i) => i % 2 === 0)) eraseStroke(doc, stroke.id) })
    const erasures = Y.encodeStateAsUpdate(doc, before) // no structs: a delete set of 100 ranges
    expect(erasures.length).toBeGreaterThan(64)
    const pieces = splitUpdate(erasures, 64)
    expect(pieces).toEqual([erasures])
    for (const piece of pieces) Y.applyUpdate(copy, piece)
    expect(readStrokes(copy)).toHaveLength(100)
  })
})
