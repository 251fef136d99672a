/**
 * What deriving events costs a compaction, on both stores: 1,000 chat messages and 1,000 canvas
 * updates (20 strokes drawn point by point). A regression guard with room to spare: with a query
 * per event and per lookup, 1,000 messages took 242 s on the MongoDB-wire test server (FerretDB
 * scans instead of using indexes); batched, about a second. The figures are printed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import pino from 'pino'
import { describe, expect, inject, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { CompactionFeed } from '../../server/feed/compaction-feed.ts'
import { FeedRecorder } from '../../server/feed/feed-recorder.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import type { TimedUpdate } from '../../server/history/edit-records.ts'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import type { Storage } from '../../server/storage/types.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { tempDir } from '../helpers/server.ts'

const COUNT = 1_000
const BUDGET_MS = 15_000

/** Every update `write` makes, as logged updates of one writer 20 ms apart. */
function logged(write: (doc: Y.Doc) => void): TimedUpdate[] {
  const doc = new Y.Doc()
  const out: TimedUpdate[] = []
  doc.on('update', (update: Uint8Array) => out.push({ at: 1_700_000_000_000 + out.length * 20, id: `${out.length + 1}-0`, writer: 'u', update, info: updateInfo(update) }))
  write(doc)
  return out
}

const canvas = (): TimedUpdate[] => logged((doc) => {
  let stroke!: Y.Map<unknown>
  for (let i = 0; i < COUNT; i++) {
    if (i % 50 === 0) stroke = addStroke(doc, { author: 'u', color: '#000000', width: 1, tool: 'pen', id: `s${i}`, points: [[0, 0]] })
    else appendPoints(stroke, [[i, i]])
  }
})
const chat = (): TimedUpdate[] => logged((doc) => {
  for (let i = 0; i < COUNT; i++) postMessage(doc, { author: 'u', authorName: 'U', text: `m${i}` })
})

async function timed(feed: CompactionFeed, room: string, updates: TimedUpdate[]): Promise<{ ms: number; delayMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const started = performance.now()
  await feed.record(room, updates)
  const ms = performance.now() - started
  delay.disable()
  return { ms, delayMs: delay.max / 1e6 }
}

const STORES: Array<{ name: string; open: () => Promise<{ storage: Storage; close(): Promise<void> }> }> = [
  { name: 'embedded', open: async () => {
    const dir = await tempDir()
    const storage = await EmbeddedStorage.open(dir.path)
    return { storage, close: async () => { await storage.close(); await dir.remove() } }
  } },
  { name: 'mongodb', open: async () => {
    const storage = await MongoStorage.open({ url: inject('mongoUrl'), dbName: uniqueDbName(), timeoutMs: 5_000, logger: pino({ level: 'silent' }) })
    return { storage, close: () => storage.close() }
  } },
]

describe.each(STORES)('deriving events on $name storage', ({ name, open }) => {
  it(`records ${COUNT} chat messages and ${COUNT} canvas updates within ${BUDGET_MS / 1000} s each`, async () => {
    const { storage, close } = await open()
    try {
      const feed = new CompactionFeed({ store: storage.feed, recorder: new FeedRecorder({ store: storage.feed, retentionMs: 1e12, logger: pino({ level: 'silent' }) }) })
      const [chatUpdates, canvasUpdates] = [chat(), canvas()]
      const messages = await timed(feed, 'costGroup001/chat', chatUpdates)
      const drawing = await timed(feed, 'costGroup001/canvas', canvasUpdates)
      process.stdout.write(`[derivation-cost] ${name}: ${COUNT} chat messages ${messages.ms.toFixed(0)} ms (longest event-loop delay ${messages.delayMs.toFixed(1)} ms); ${COUNT} canvas updates ${drawing.ms.toFixed(0)} ms (${drawing.delayMs.toFixed(1)} ms)\n`)
      expect(await storage.feed.lastSeq('costGroup001')).toBeGreaterThanOrEqual(COUNT + 1)
      expect(messages.ms).toBeLessThan(BUDGET_MS)
      expect(drawing.ms).toBeLessThan(BUDGET_MS)
    } finally {
      await close()
    }
  }, 2 * BUDGET_MS + 10_000)
})
