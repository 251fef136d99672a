/**
 * Sync answers merge the updates held since the base a block per event-loop turn: a fresh client
 * of a room holding a thousand updates since its snapshot used to cost ~40 ms of merging in one
 * turn. The room keeps each closed block a fresh answer merged, so the next fresh client merges
 * only what came since; an answer is the document as it stood when planned, whatever the room
 * does while it merges (updates entering then are relayed to the socket, not answered).
 */
import fc from 'fast-check'
import * as decoding from 'lib0/decoding'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocBytes } from '../../server/collab/room/doc-bytes.ts'
import { planSync } from '../../server/collab/sync/sync-answer.ts'
import { BLOCK_UPDATES } from '../../server/collab/sync/update-blocks.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import type { DocWorker } from '../../server/collab/workers/doc-worker-client.ts'
import { formatLogId, LOG_START } from '../../server/log/log-id.ts'

const EMPTY_VECTOR = Y.encodeStateVector(new Y.Doc())
/** Small answers never reach the worker (it diffs only pieces over 64 KiB). */
const NO_WORKER = {} as DocWorker

/** `count` updates of `writers` members appending to one list, each seeing the others' at once. */
function edits(count: number, writers: number): Uint8Array[] {
  const docs = Array.from({ length: writers }, (_, i) => {
    const doc = new Y.Doc()
    doc.clientID = i + 1
    return doc
  })
  const updates: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const doc = docs[i % writers]!
    const captured: Uint8Array[] = []
    const capture = (update: Uint8Array): void => void captured.push(update)
    doc.on('update', capture)
    const list = doc.getArray<number>('list')
    if (i % 7 === 6 && list.length > 0) list.delete(i % list.length, 1)
    else list.insert(i % (list.length + 1), [i])
    doc.off('update', capture)
    for (const update of captured) {
      updates.push(update)
      for (const other of docs) if (other !== doc) Y.applyUpdate(other, update)
    }
  }
  return updates
}

/** A room whose base holds nothing and which holds `updates` since. */
function roomOf(updates: Uint8Array[]): DocBytes {
  const bytes = new DocBytes({ pieces: [], infos: [], full: 0, watermark: LOG_START, stateVector: new Map(), bindings: new Map() })
  updates.forEach((update, i) => bytes.add({ id: formatLogId(i + 1, 0), writer: 'w', update, info: updateInfo(update) }))
  return bytes
}

function docOf(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

function applyFrames(frames: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const frame of frames) {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarUint(decoder) // sync
    if (decoding.readVarUint(decoder) === 2) Y.applyUpdate(doc, decoding.readVarUint8Array(decoder))
  }
  return doc
}

function sameDoc(a: Y.Doc, b: Y.Doc): boolean {
  return Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b))) && Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b))
}

/** Runs `start` and says how many event-loop turns passed before it resolved. */
async function turnsTaken<T>(start: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0
  let counting = true
  const tick = (): void => {
    if (!counting) return
    turns++
    setImmediate(tick)
  }
  setImmediate(tick)
  const value = await start()
  counting = false
  return { value, turns }
}

it('answers a fresh client a block per turn, and the next fresh client merges only what the first did not keep', async () => {
  const updates = edits(8 * BLOCK_UPDATES + 40, 5)
  const bytes = roomOf(updates)

  const first = await turnsTaken(() => planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer())
  expect(first.turns).toBeGreaterThanOrEqual(8) // nine blocks: eight turns between them
  expect(first.value).toHaveLength(9 + 1) // the blocks and the closing sync step 2
  expect(sameDoc(applyFrames(first.value), docOf(updates))).toBe(true)

  // The eight closed blocks were kept: only the open tail is left to merge.
  expect(bytes.freshParts().unmerged).toHaveLength(40)
  const second = await turnsTaken(() => planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer())
  expect(second.turns).toBe(0)
  expect(second.value.slice(0, 8)).toEqual(first.value.slice(0, 8))
  expect(sameDoc(applyFrames(second.value), docOf(updates))).toBe(true)
})

it('answers the document as planned while updates enter during the merge, and keeps the blocks', async () => {
  const updates = edits(3 * BLOCK_UPDATES + 10, 3)
  const later = edits(3 * BLOCK_UPDATES + 12, 3).slice(updates.length)
  const bytes = roomOf(updates)
  const planned = planSync(bytes, EMPTY_VECTOR, NO_WORKER)
  const answering = planned.answer()
  later.forEach((update, i) => bytes.add({ id: formatLogId(updates.length + i + 1, 0), writer: 'w', update, info: updateInfo(update) }))
  const frames = await answering

  expect(sameDoc(applyFrames(frames), docOf(updates))).toBe(true) // not what entered after the plan
  expect(bytes.freshParts().unmerged).toHaveLength(12) // three closed blocks kept; the tail grew
  expect(sameDoc(applyFrames(await planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer()), docOf([...updates, ...later]))).toBe(true)
})

it('keeps no block merged from updates a rebase replaced meanwhile, and still answers what was planned', async () => {
  const updates = edits(4 * BLOCK_UPDATES, 4)
  const bytes = roomOf(updates)
  const answering = planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer()
  // A snapshot of the first half becomes the base: `since` starts over with the second half.
  const half = updates.slice(0, 2 * BLOCK_UPDATES)
  const base = Y.mergeUpdates(half)
  bytes.rebase({ pieces: [base], infos: [updateInfo(base)], full: 1, watermark: formatLogId(half.length, 0), stateVector: Y.decodeStateVector(Y.encodeStateVectorFromUpdate(base)), bindings: new Map() })
  const frames = await answering

  expect(sameDoc(applyFrames(frames), docOf(updates))).toBe(true)
  const parts = bytes.freshParts()
  expect(parts.unmerged).toHaveLength(2 * BLOCK_UPDATES) // nothing of the old `since` kept as a block
  expect(sameDoc(applyFrames(await planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer()), docOf(updates))).toBe(true)
})

it('keeps no block of an answer planned before a rebase, even where an answer planned after it has merged up to the same place', async () => {
  const updates = edits(4 * BLOCK_UPDATES, 4)
  const bytes = roomOf(updates)
  const before = planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer() // merges [0, 128) now, the rest a block per turn
  const base = updates[0]!
  bytes.rebase({ pieces: [base], infos: [updateInfo(base)], full: 1, watermark: formatLogId(1, 0), stateVector: Y.decodeStateVector(Y.encodeStateVectorFromUpdate(base)), bindings: new Map() })
  const after = planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer() // `since` is one shorter: its blocks start one update later
  await Promise.all([before, after])

  expect(sameDoc(applyFrames(await planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer()), docOf(updates))).toBe(true)
})

it('answers a returning client\'s lacking updates a block per turn too', async () => {
  const updates = edits(4 * BLOCK_UPDATES, 2)
  const bytes = roomOf(updates)
  const peer = docOf(updates.slice(0, 10))
  const { value, turns } = await turnsTaken(() => planSync(bytes, Y.encodeStateVector(peer), NO_WORKER).answer())
  expect(turns).toBeGreaterThanOrEqual(3)
  for (const frame of value) {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarUint(decoder)
    if (decoding.readVarUint(decoder) === 2) Y.applyUpdate(peer, decoding.readVarUint8Array(decoder))
  }
  expect(sameDoc(peer, docOf(updates))).toBe(true)
})

it('gives every fresh client the whole document, however answers, appends and rebases interleave', async () => {
  type Step = { kind: 'answer' } | { kind: 'append'; count: number } | { kind: 'rebase'; upTo: number }
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant({ kind: 'answer' as const }),
    fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ kind: fc.constant('rebase' as const), upTo: fc.nat() }),
  )
  const all = edits(1_200, 3)
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 400 }), async (steps, initial) => {
    const bytes = roomOf(all.slice(0, initial))
    let held = initial
    let based = 0
    const pending: Array<{ answer: Promise<Uint8Array[]>; held: number }> = []
    for (const s of steps) {
      if (s.kind === 'answer') pending.push({ answer: planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer(), held })
      else if (s.kind === 'append') {
        const more = all.slice(held, Math.min(all.length, held + s.count))
        more.forEach((update, i) => bytes.add({ id: formatLogId(held + i + 1, 0), writer: 'w', update, info: updateInfo(update) }))
        held += more.length
      } else {
        const upTo = based + (s.upTo % (held - based + 1))
        if (upTo > based) {
          const base = Y.mergeUpdates(all.slice(0, upTo))
          bytes.rebase({ pieces: [base], infos: [updateInfo(base)], full: 1, watermark: formatLogId(upTo, 0), stateVector: Y.decodeStateVector(Y.encodeStateVectorFromUpdate(base)), bindings: new Map() })
          based = upTo
        }
      }
      if (s.kind !== 'answer') await new Promise((resolve) => setImmediate(resolve)) // answers go on meanwhile
    }
    pending.push({ answer: planSync(bytes, EMPTY_VECTOR, NO_WORKER).answer(), held })
    for (const { answer, held: planned } of pending) expect(sameDoc(applyFrames(await answer), docOf(all.slice(0, planned)))).toBe(true)
  }), { numRuns: 60 })
}, 120_000)

// Found in review: a returning client's plan held the room's own update objects, and a reassign
// between two blocks' turns cut one in place: the part it moved was never sent.
it('answers a returning client what was planned though a held update is reassigned between its blocks', async () => {
  const a = new Y.Doc()
  a.clientID = 1
  const b = new Y.Doc()
  b.clientID = 2
  const updates: Uint8Array[] = []
  for (let i = 0; i < 3 * BLOCK_UPDATES; i++) {
    const made: Uint8Array[] = []
    const capture = (update: Uint8Array): void => void made.push(update)
    a.on('update', capture)
    a.getArray<number>('list').push([i])
    a.off('update', capture)
    if (i === 2 * BLOCK_UPDATES - 50) { // one update of two clients, in the second block
      b.on('update', capture)
      Y.applyUpdate(b, made[0]!)
      b.getArray<string>('other').push(['b'])
      b.off('update', capture)
      updates.push(Y.mergeUpdates(made.filter((_, k) => k !== 1)))
    } else updates.push(made[0]!)
    if (i !== 2 * BLOCK_UPDATES - 50) Y.applyUpdate(b, made[0]!)
  }
  const held = updates.map((update, i) => ({ id: formatLogId(i + 10, 0), writer: 'w', update, info: updateInfo(update) }))
  const bytes = new DocBytes({ pieces: [], infos: [], full: 0, watermark: LOG_START, stateVector: new Map(), bindings: new Map() })
  held.forEach((accepted) => bytes.add(accepted))
  const stranger = new Y.Doc()
  stranger.clientID = 99
  stranger.getArray('z').push([1])
  const answering = planSync(bytes, Y.encodeStateVector(stranger), NO_WORKER).answer()
  // Between the first block's turn and the second's, client 1's part moves to an earlier entry.
  const split = held[2 * BLOCK_UPDATES - 50]!
  const whole = Y.decodeUpdate(split.update)
  expect(new Set(whole.structs.map((s) => s.id.client))).toEqual(new Set([1, 2]))
  const keep = Y.diffUpdate(split.update, Y.encodeStateVector(docOf(updates.slice(0, 2 * BLOCK_UPDATES - 50).concat([Y.encodeStateAsUpdate(a, Y.encodeStateVector(docOf(updates.slice(0, 2 * BLOCK_UPDATES - 50))))]))))
  const moved = Y.diffUpdate(split.update, Y.encodeStateVector(docOf([...updates.slice(0, 2 * BLOCK_UPDATES - 50), keep])))
  bytes.reassign(split, { update: keep, info: updateInfo(keep) }, { id: formatLogId(5, 0), writer: 'w', update: moved, info: updateInfo(moved) })
  const frames = await answering

  const got = applyFrames(frames)
  expect(got.getArray('list').length).toBe(3 * BLOCK_UPDATES)
  expect(got.store.pendingStructs).toBeNull()
})
