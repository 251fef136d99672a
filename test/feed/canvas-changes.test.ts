/**
 * A canvas uploaded in one big update (a client's offline work, a restored copy) is decoded a
 * piece per turn: decoded whole, a 10 MiB upload held the event loop ~1.4 s (figure 7). Reading
 * in pieces must not change the event: a stroke whose map and whose `id` fall in different
 * pieces is still listed (a first version placed each piece alone and lost such strokes, for
 * some client ids only). Checked over generated canvases of several writers, with appends and
 * erasures, against the same update read whole.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { canvasChanges } from '../../server/feed/canvas-changes.ts'
import { ItemIndex } from '../../server/feed/item-index.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import type { FeedStore } from '../../server/storage/feed-types.ts'
import type { NewEvent } from '../../server/storage/feed-types.ts'
import { addStroke, appendPoints, eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { strokeCanvas } from '../helpers/stroke-canvas.ts'

/** Nothing stored yet: a first compaction of the room. */
const EMPTY_STORE = { itemsIn: async () => [], itemAt: async () => null } as unknown as FeedStore
const WHOLE = Number.POSITIVE_INFINITY

async function eventsOf(upload: Uint8Array, pieceBytes: number, onTurn = (): void => {}): Promise<NewEvent[]> {
  const update = { at: 1_000, id: '1-0', writer: 'ann', update: upload, info: updateInfo(upload), key: '1-0#0' }
  return canvasChanges([update], new ItemIndex('room', EMPTY_STORE), async () => onTurn(), pieceBytes)
}

interface Listed { added: Array<{ id: string; points: number }>; addedMore?: number; appended?: unknown[]; erased?: unknown[] }

it('reads a big update a piece per turn and lists every stroke it adds', async () => {
  const doc = strokeCanvas(2_000)
  const ids = strokesOf(doc).toArray().map((stroke) => stroke.get('id') as string)
  for (const id of ids.slice(0, 3)) eraseStroke(doc, id)
  const upload = Y.encodeStateAsUpdate(doc) // the strokes and, in its delete set, the three erasures
  expect(upload.length).toBeGreaterThan(12 * 64 * 1024)

  let turns = 0
  const events = await eventsOf(upload, 64 * 1024, () => void turns++)

  expect(turns).toBeGreaterThanOrEqual(12)
  expect(events).toHaveLength(1)
  const data = events[0]!.data as unknown as Listed
  expect(data.added.length + (data.addedMore ?? 0)).toBe(1_997)
  expect(data.erased).toEqual([]) // erased in the same upload: never listed as added, nor as erased
  expect(events[0]!.key).toBe('canvas:1-0#0..1-0#0')
})

type Step = { kind: 'add'; writer: number; points: number } | { kind: 'append'; writer: number; stroke: number; points: number } | { kind: 'erase'; writer: number; stroke: number } | { kind: 'sync' }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), writer: fc.nat(2), points: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('append' as const), writer: fc.nat(2), stroke: fc.nat(), points: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase' as const), writer: fc.nat(2), stroke: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
)

/** Three writers with the given client ids draw, append to and erase each other's strokes, syncing now and then. */
function drawn(clientIds: number[], steps: Step[]): Y.Doc {
  const docs = clientIds.map((id) => {
    const doc = new Y.Doc()
    doc.clientID = id
    return doc
  })
  const syncAll = (): void => {
    for (const from of docs) for (const to of docs) if (from !== to) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))
  }
  for (const [n, s] of steps.entries()) {
    if (s.kind === 'sync') {
      syncAll()
      continue
    }
    const doc = docs[s.writer]!
    const strokes = strokesOf(doc).toArray()
    const points = (count: number): Array<[number, number]> => Array.from({ length: count }, (_, p) => [n + p, p * 2])
    if (s.kind === 'add') addStroke(doc, { author: `writer${s.writer}`, color: '#000000', width: 2, tool: 'pen', points: points(s.points) })
    else if (strokes.length > 0 && s.kind === 'append') appendPoints(strokes[s.stroke % strokes.length]!, points(s.points))
    else if (strokes.length > 0 && s.kind === 'erase') eraseStroke(doc, strokes[s.stroke % strokes.length]!.get('id') as string)
  }
  syncAll()
  return docs[0]!
}

it('gives the same event read in pieces of any size as read whole, for any writers', async () => {
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 3, maxLength: 3 }),
    fc.array(step, { minLength: 1, maxLength: 60 }),
    fc.integer({ min: 40, max: 2_048 }),
    async (clientIds, steps, pieceBytes) => {
      const doc = drawn(clientIds, steps)
      const upload = Y.encodeStateAsUpdate(doc)
      const whole = await eventsOf(upload, WHOLE)
      const pieces = await eventsOf(upload, pieceBytes)
      expect(pieces).toEqual(whole)
      const survivors = strokesOf(doc).toArray().map((stroke) => stroke.get('id') as string).sort()
      const added = whole.flatMap((event) => (event.data as unknown as Listed).added.map((stroke) => stroke.id)).sort()
      expect(added).toEqual(survivors)
    },
  ), { numRuns: 300 })
})

it('lists the erasures of an update that holds deletions only, however small its pieces', async () => {
  const doc = strokeCanvas(3)
  const drawn = Y.encodeStateAsUpdate(doc)
  const before = Y.encodeStateVector(doc)
  const ids = strokesOf(doc).toArray().map((stroke) => stroke.get('id') as string)
  eraseStroke(doc, ids[1]!)
  const erasure = Y.encodeStateAsUpdate(doc, before) // no structs: its delete set alone
  const timed = (update: Uint8Array, i: number) => ({ at: 1_000 + i * 5_000, id: `1-${i}`, writer: 'ann', update, info: updateInfo(update), key: `1-${i}#0` })
  const read = (pieceBytes: number) => canvasChanges([timed(drawn, 0), timed(erasure, 1)], new ItemIndex('room', EMPTY_STORE), async () => {}, pieceBytes)
  const whole = await read(WHOLE)
  expect(whole.at(-1)!.data.erased).toEqual([{ id: ids[1], author: 'ann', by: 'ann' }])
  expect(erasure.length).toBeGreaterThan(4)
  expect(await read(4)).toEqual(whole)
})

it('keeps a text that starts with a byte-order mark whole, so the clocks after it stay right', async () => {
  const doc = new Y.Doc()
  doc.clientID = 7
  doc.getText('note').insert(0, '\uFEFFab') // three clocks
  const stroke = new Y.Map()
  strokesOf(doc).push([stroke])
  doc.getMap('meta').set('title', 'x') // a struct between the stroke's map and its fields
  stroke.set('id', 's1')
  stroke.set('author', 'ann')
  const upload = Y.encodeStateAsUpdate(doc)
  const whole = await eventsOf(upload, WHOLE)
  expect((whole[0]!.data as unknown as Listed).added.map((s) => s.id)).toEqual(['s1'])
  expect(await eventsOf(upload, 8)).toEqual(whole)
})
