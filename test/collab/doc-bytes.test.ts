/**
 * DocBytes answers a peer's state vector (`plan`) with what it lacks, on bytes: pieces it has none
 * of as they are, pieces it has some of to diff, deletions of pieces it has all of, and the
 * updates since the base it lacks or whose deletions it may lack. Checked over generated editing
 * histories of three members: the peer that applies the plan holds exactly the whole document,
 * and nothing it holds whole (with no deletions) is sent again.
 */
import fc from 'fast-check'
import * as decoding from 'lib0/decoding'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { decodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'
import { DocBytes, type Accepted } from '../../server/collab/room/doc-bytes.ts'
import { coverage, hasDeletes, updateInfo } from '../../server/collab/sync/update-info.ts'
import { compareLogIds, formatLogId, LOG_START } from '../../server/log/log-id.ts'

interface History {
  updates: Uint8Array[]
  /** Updates folded into the base, and into how many pieces. */
  inBase: number
  pieces: number
  /** Updates the peer has applied, from the first on (its state vector says which). */
  peerHas: number
}

/** Three members editing one array, each change reaching the others at once (a causal order). */
function editing(ops: Array<[number, number, boolean]>): Uint8Array[] {
  const docs = [1, 2, 3].map((id) => {
    const doc = new Y.Doc()
    doc.clientID = id
    return doc
  })
  const updates: Uint8Array[] = []
  for (const [who, at, erase] of ops) {
    const doc = docs[who]!
    const list = doc.getArray<number>('list')
    const captured: Uint8Array[] = []
    const capture = (update: Uint8Array): void => void captured.push(update)
    doc.on('update', capture)
    if (erase && list.length > 0) list.delete(at % list.length, 1)
    else list.insert(at % (list.length + 1), [at])
    doc.off('update', capture)
    for (const update of captured) {
      updates.push(update)
      for (const other of docs) if (other !== doc) Y.applyUpdate(other, update)
    }
  }
  return updates
}

const histories = fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 50 }), fc.boolean()), { minLength: 1, maxLength: 40 }).chain((ops) => {
  const updates = editing(ops)
  return fc.record({
    updates: fc.constant(updates),
    inBase: fc.nat({ max: updates.length }),
    pieces: fc.integer({ min: 1, max: 3 }),
    peerHas: fc.nat({ max: updates.length }),
  })
})

function docBytesOf({ updates, inBase, pieces }: History): DocBytes {
  const folded = updates.slice(0, inBase)
  const per = Math.ceil(folded.length / pieces) || 1
  const baseUpdates: Uint8Array[] = []
  for (let i = 0; i < folded.length; i += per) baseUpdates.push(Y.mergeUpdates(folded.slice(i, i + per)))
  const vector = new Map<number, number>()
  if (folded.length > 0) for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(Y.mergeUpdates(folded)))) vector.set(client, clock)
  const bytes = new DocBytes({ pieces: baseUpdates, infos: baseUpdates.map(updateInfo), full: baseUpdates.length, watermark: inBase > 0 ? formatLogId(inBase, 0) : LOG_START, stateVector: vector, bindings: new Map() })
  updates.slice(inBase).forEach((update, i) => bytes.add({ id: formatLogId(inBase + i + 1, 0), writer: 'w', update, info: updateInfo(update) }))
  return bytes
}

function payloadOf(frame: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(frame)
  decoding.readVarUint(decoder) // sync
  decoding.readVarUint(decoder) // update
  return decoding.readVarUint8Array(decoder)
}

it('a peer that applies the plan holds the whole document, and gets nothing it holds whole again', () => {
  fc.assert(fc.property(histories, (history) => {
    const whole = new Y.Doc()
    for (const update of history.updates) Y.applyUpdate(whole, update)
    const peer = new Y.Doc()
    for (const update of history.updates.slice(0, history.peerHas)) Y.applyUpdate(peer, update)
    const vector = Y.decodeStateVector(Y.encodeStateVector(peer))

    const plan = docBytesOf(history).plan(vector)
    for (const frame of plan.frames) Y.applyUpdate(peer, payloadOf(frame))
    for (const piece of plan.partial) Y.applyUpdate(peer, Y.diffUpdate(piece, Y.encodeStateVector(peer)))
    for (const accepted of plan.updates) Y.applyUpdate(peer, accepted.update)

    expect(Y.encodeStateVector(peer)).toEqual(Y.encodeStateVector(whole))
    expect(Y.equalSnapshots(Y.snapshot(peer), Y.snapshot(whole))).toBe(true)
    expect(peer.getArray('list').toJSON()).toEqual(whole.getArray('list').toJSON())
    // Updates since the base that the peer held whole, with no deletions, are not sent again.
    for (const accepted of plan.updates) expect(coverage(accepted.info, vector) !== 'all' || hasDeletes(accepted.update, accepted.info)).toBe(true)
    const lacking = history.updates.slice(history.inBase).filter((u) => coverage(updateInfo(u), vector) !== 'all' || hasDeletes(u, updateInfo(u)))
    expect(plan.updates).toHaveLength(lacking.length)
  }), { numRuns: 500 })
})

it('counts what it holds; a fresh peer gets everything, and so does its full state', () => {
  fc.assert(fc.property(histories, (history) => {
    const bytes = docBytesOf(history)
    const held = bytes.contents()
    expect(bytes.bytes).toBe([...held.pieces, ...held.since.map((a) => a.update)].reduce((sum, u) => sum + u.length, 0))
    expect(bytes.updateCount).toBe(history.updates.length - history.inBase)
    const fresh = new Y.Doc()
    const parts = bytes.freshParts()
    for (const frame of parts.frames) Y.applyUpdate(fresh, payloadOf(frame))
    for (const { update } of parts.unmerged) Y.applyUpdate(fresh, update)
    const whole = new Y.Doc()
    for (const update of history.updates) Y.applyUpdate(whole, update)
    expect(Y.encodeStateVector(fresh)).toEqual(Y.encodeStateVector(whole))
    expect(Y.equalSnapshots(Y.snapshot(fresh), Y.snapshot(whole))).toBe(true)
    // Its full state (what a version of the live document stores) holds the whole document too.
    const state = new Y.Doc()
    for (const piece of decodeSnapshot(bytes.fullState())) Y.applyUpdate(state, piece)
    expect(Y.encodeStateVector(state)).toEqual(Y.encodeStateVector(whole))
    expect(Y.equalSnapshots(Y.snapshot(state), Y.snapshot(whole))).toBe(true)
  }), { numRuns: 300 })
})

it('counts the updates held beyond any position, as it moves on or back, and as places in the log change', () => {
  type Step = { kind: 'count'; at: number } | { kind: 'lose'; which: number } | { kind: 'relog'; which: number; at: number }
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('count' as const), at: fc.nat({ max: 60 }) }),
    fc.record({ kind: fc.constant('lose' as const), which: fc.nat() }),
    fc.record({ kind: fc.constant('relog' as const), which: fc.nat(), at: fc.nat({ max: 60 }) }),
  )
  fc.assert(fc.property(histories, fc.array(step, { maxLength: 30 }), (history, steps) => {
    const bytes = docBytesOf(history)
    const held = (): Accepted[] => [...bytes.contents().since]
    const placeOf = (a: Accepted): string | null => (a.relogged === undefined ? a.id : a.relogged)
    const naive = (position: string): number => held().filter((a) => {
      const place = placeOf(a)
      return place === null || compareLogIds(place, position) > 0
    }).length
    for (const s of steps) {
      const list = held()
      if (s.kind === 'count') expect(bytes.countAfter(formatLogId(s.at, 0))).toBe(naive(formatLogId(s.at, 0)))
      else if (list.length > 0 && s.kind === 'lose') bytes.lose(list[s.which % list.length]!)
      else if (list.length > 0 && s.kind === 'relog') bytes.relogged(list[s.which % list.length]!, formatLogId(s.at, 1))
    }
  }), { numRuns: 300 })
})
