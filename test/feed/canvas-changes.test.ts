/**
 * A canvas uploaded in one big update (a client's offline work, a restored copy) is read in
 * pieces, one per turn: decoded whole, a 10 MiB upload held the event loop ~1.4 s (figure 7).
 * The event is the same: every stroke added, the erasures after them.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { canvasChanges } from '../../server/feed/canvas-changes.ts'
import { ItemIndex } from '../../server/feed/item-index.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import type { FeedStore } from '../../server/storage/feed-types.ts'
import { eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { strokeCanvas } from '../helpers/stroke-canvas.ts'

/** Nothing stored yet: a first compaction of the room. */
const EMPTY_STORE = { itemsIn: async () => [], itemAt: async () => null } as unknown as FeedStore

it('reads a big update a piece per turn and lists every stroke it adds and erases', async () => {
  const doc = strokeCanvas(2_000)
  const ids = strokesOf(doc).toArray().map((stroke) => stroke.get('id') as string)
  const before = Y.encodeStateVector(doc)
  for (const id of ids.slice(0, 3)) eraseStroke(doc, id)
  const upload = Y.encodeStateAsUpdate(doc) // the strokes and, in its delete set, the three erasures
  expect(upload.length).toBeGreaterThan(12 * 64 * 1024)
  expect(before.length).toBeGreaterThan(0)

  let turns = 0
  const events = await canvasChanges([{ at: 1_000, id: '1-0', writer: 'ann', update: upload, info: updateInfo(upload), key: '1-0#0' }], new ItemIndex('room', EMPTY_STORE), async () => { turns++ })

  expect(turns).toBeGreaterThanOrEqual(12)
  expect(events).toHaveLength(1)
  const data = events[0]!.data as { added: Array<{ id: string }>; addedMore?: number; erased: Array<{ id: string }> }
  expect(data.added.length + (data.addedMore ?? 0)).toBe(1_997)
  expect(data.erased).toEqual([]) // erased in the same upload: never listed as added, nor as erased
  expect(events[0]!.key).toBe('canvas:1-0#0..1-0#0')
})
