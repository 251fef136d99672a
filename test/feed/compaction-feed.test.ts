/**
 * Change detection on update bytes, against a real embedded store: what a compaction records,
 * that a retried compaction records nothing twice (however far the first one got), and that a
 * message id two nodes both took (the rules delete the later copy) is one message, never deleted.
 */
import pino from 'pino'
import { afterEach, beforeEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage } from '../../shared/chat.ts'
import { CompactionFeed } from '../../server/feed/compaction-feed.ts'
import { FeedRecorder } from '../../server/feed/feed-recorder.ts'
import type { TimedUpdate } from '../../server/history/edit-records.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { tempDir } from '../helpers/server.ts'

const GROUP = 'feedGroup0001'
let storage: EmbeddedStorage
let remove: () => Promise<void>
let feed: CompactionFeed

beforeEach(async () => {
  const dir = await tempDir()
  storage = await EmbeddedStorage.open(dir.path)
  remove = dir.remove
  feed = new CompactionFeed({ store: storage.feed, recorder: new FeedRecorder({ store: storage.feed, retentionMs: 86_400_000, logger: pino({ level: 'silent' }) }) })
})
afterEach(async () => {
  await storage.close()
  await remove()
})

/** Records every update `change` makes to `doc` as one logged update of `writer`. */
function capture(doc: Y.Doc, writer: string, at: number, id: string, change: () => void): TimedUpdate {
  const before = Y.encodeStateVector(doc)
  change()
  const update = Y.encodeStateAsUpdate(doc, before)
  // Deletions are not in a state-vector diff: take them from the whole delete set.
  const withDeletes = Y.mergeUpdates([update, deletions(doc)])
  return { at, id, writer, update: withDeletes, info: updateInfo(withDeletes) }
}

/** The document's whole delete set, as an update with no structs. */
function deletions(doc: Y.Doc): Uint8Array {
  return Y.diffUpdate(Y.encodeStateAsUpdate(doc), Y.encodeStateVector(doc))
}

/** Where in the array the (one) message written under `client` is. */
function indexOfClient(array: Y.Array<unknown>, client: number): number {
  let index = 0
  for (let item = array._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue
    if (item.id.client === client) return index
    index += item.length
  }
  throw new Error('not found')
}

const events = async (): Promise<Array<{ type: string; data: Record<string, unknown> }>> => storage.feed.list(GROUP, { after: 0, limit: 100, since: 0 })

it('names messages created and deleted; a retried compaction records nothing twice', async () => {
  const doc = new Y.Doc()
  const room = `${GROUP}/chat`
  const created = capture(doc, 'alice', 1_000, '1-0', () => postMessage(doc, { author: 'alice', authorName: 'A', text: 'hi', id: 'm1' }))
  await feed.record(room, [created])
  const deleted = capture(doc, 'alice', 2_000, '2-0', () => messagesOf(doc).delete(0, 1))
  await feed.record(room, [deleted])
  await feed.record(room, [created, deleted]) // as a cold fold retried from the same snapshot would
  expect((await events()).map((e) => [e.type, (e.data.message as { id: string }).id])).toEqual([['chat.message.created', 'm1'], ['chat.message.deleted', 'm1']])
})

it('keeps a message id two writers both took as one message: the copy the rules delete is no event', async () => {
  const room = `${GROUP}/chat`
  const [a, b] = [new Y.Doc(), new Y.Doc()]
  const first = capture(a, 'alice', 1_000, '1-0', () => postMessage(a, { author: 'alice', authorName: 'A', text: 'same', id: 'dup' }))
  const copy = capture(b, 'alice', 1_001, '1-1', () => postMessage(b, { author: 'alice', authorName: 'A', text: 'same', id: 'dup' }))
  await feed.record(room, [first])
  Y.applyUpdate(b, first.update)
  // The rules keep the first in log order and delete the other copy.
  const removal = capture(b, 'alice', 3_000, '3-0', () => messagesOf(b).delete(indexOfClient(messagesOf(b), b.clientID), 1))
  await feed.record(room, [copy, removal])
  expect((await events()).map((e) => e.type)).toEqual(['chat.message.created'])
})

it('names strokes added, points appended after other points, and strokes erased, per second', async () => {
  const doc = new Y.Doc()
  const room = `${GROUP}/canvas`
  let stroke!: Y.Map<unknown>
  const add = capture(doc, 'bob', 10_000, '10-0', () => {
    stroke = addStroke(doc, { author: 'bob', color: '#000000', width: 1, tool: 'pen', id: 's1', points: [[0, 0]] })
  })
  const more = capture(doc, 'bob', 10_500, '10-1', () => appendPoints(stroke, [[1, 1], [2, 2]]))
  await feed.record(room, [add, more])
  const later = capture(doc, 'bob', 12_000, '12-0', () => appendPoints(stroke, [[3, 3]])) // placed through the index: its origin is a stored run
  const erase = capture(doc, 'carol', 13_000, '13-0', () => strokesOf(doc).delete(0, 1))
  await feed.record(room, [later, erase])
  await feed.record(room, [later, erase]) // retried: same keys
  expect((await events()).map((e) => e.data)).toEqual([
    { by: ['bob'], added: [{ id: 's1', author: 'bob', points: 3 }], appended: [], erased: [] },
    { by: ['bob'], added: [], appended: [{ id: 's1', author: 'bob', points: 1 }], erased: [] },
    { by: ['carol'], added: [], appended: [], erased: [{ id: 's1', author: 'bob', by: 'carol' }] },
  ])
})
