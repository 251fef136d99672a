/**
 * Figure 6 probe, run as its own process on the server core: folds a room's log of many small
 * updates into a snapshot (cold compaction, bounded batches) and snapshots a big hot document,
 * measuring throughput and the longest event-loop block (monitorEventLoopDelay plus a 1 ms
 * drift timer). Prints one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import pino from 'pino'
import * as Y from 'yjs'
import { LocalLease } from '../../server/collab/compaction/compaction-lease.ts'
import { Compactor } from '../../server/collab/compaction/compactor.ts'
import { Folder } from '../../server/collab/compaction/folder.ts'
import { DocWorker } from '../../server/collab/workers/doc-worker-client.ts'
import { encodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'
import { updateInfo, type UpdateInfo } from '../../server/collab/sync/update-info.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { noObserver } from '../../server/collab/observer.ts'
import { EmbeddedLog } from '../../server/log/embedded-log.ts'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import type { Storage } from '../../server/storage/types.ts'
import { addStroke, appendPoints } from '../../shared/canvas.ts'
import { canvasOfSize } from '../lib/fixtures.ts'

const updates = Number(process.argv[2])
const bigBytes = Number(process.argv[3])
const mongoUrl = process.argv[4]
const logger = pino({ level: 'silent' })

/** The longest stall of the event loop while `work` runs. */
async function longestBlock<T>(work: () => Promise<T>): Promise<{ result: T; blockMs: number; ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  let last = performance.now()
  let worst = 0
  const timer = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - 1)
    last = now
  }, 1)
  const started = performance.now()
  const result = await work()
  const ms = performance.now() - started
  clearInterval(timer)
  histogram.disable()
  return { result, ms, blockMs: Math.max(worst, histogram.max / 1e6) }
}

function smallUpdates(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const out: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => out.push(update))
  let stroke = addStroke(doc, { author: 'bench', color: '#000000', width: 1, tool: 'pen', points: [[0, 0]] })
  for (let i = 1; out.length < count; i++) {
    if (i % 50 === 0) stroke = addStroke(doc, { author: 'bench', color: '#000000', width: 1, tool: 'pen', points: [[i, 0]] })
    else appendPoints(stroke, [[i % 997, i % 991]])
  }
  return out
}

const folder = new Folder()

async function fold(storage: Storage, dir: string): Promise<{ perSecond: number; blockMs: number; ms: number }> {
  const log = await EmbeddedLog.open(path.join(dir, 'log'), { fsync: false })
  const room = 'AAAAAAAAAAAAAAAAAAAAAA/canvas'
  const all = smallUpdates(updates)
  for (let i = 0; i < all.length; i += 500) await log.append(room, all.slice(i, i + 500).map((update) => ({ writer: 'bench', update })))
  const worker = new DocWorker()
  const compactor = new Compactor({ snapshots: storage.snapshots, log, lease: new LocalLease(), folder, worker, logger, everyUpdates: 1e9, idleMs: 1e9, maxWaitMs: 1e9, batchSize: 500, observer: noObserver, roomExists: async () => true })
  collectFixtureGarbage()
  const { ms, blockMs } = await longestBlock(() => compactor.compactCold(room))
  await worker.close()
  await log.close()
  return { perSecond: updates / (ms / 1000), blockMs, ms }
}

/** A big room's base pieces as a hot room holds them (the Y.Doc that made them is garbage once this returns). */
function hotRoomBase(): { base: Uint8Array[]; baseInfos: UpdateInfo[]; stateVector: Uint8Array } {
  const big = canvasOfSize(bigBytes)
  const base = splitUpdate(Y.encodeStateAsUpdate(big), 256 * 1024)
  return { base, baseInfos: base.map(updateInfo), stateVector: Y.encodeStateVector(big) }
}

/**
 * The fixtures are built here, in this process: their garbage (a 10 MiB Y.Doc is millions of
 * objects) must be collected before a measure starts, or its collection is counted as the
 * compaction's block. A server holds no such Y.Doc on its main thread.
 */
function collectFixtureGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run this probe with --expose-gc')
  gc()
}

/**
 * A hot big room compacts 1,000 recent updates: usually as a delta appended to its base pieces
 * (held in memory), and now and then as a full re-fold, both off the main thread.
 */
async function hotSnapshot(storage: Storage, mode: 'full' | 'delta', watermark: string): Promise<{ blockMs: number; ms: number; bytes: number }> {
  const { base, baseInfos, stateVector } = hotRoomBase()
  const recent = smallUpdates(1_000)
  collectFixtureGarbage()
  const { result: bytes, ms, blockMs } = await longestBlock(async () => {
    const folded = await folder.fold(mode, { pieces: base, stateVector, bindings: new Map() }, (async function* () { yield recent.map((update) => ({ writer: 'bench', update })) })())
    const pieces = mode === 'full' ? folded.pieces : [...base, ...folded.pieces]
    const infos = mode === 'full' ? folded.infos : [...baseInfos, ...folded.infos]
    const snapshot = encodeSnapshot(pieces, mode === 'full' ? pieces.length : base.length, { infos, stateVector: folded.stateVector, bindings: folded.bindings })
    await storage.snapshots.save('BBBBBBBBBBBBBBBBBBBBBB/canvas', snapshot, watermark)
    return snapshot.length
  })
  return { blockMs, ms, bytes }
}

async function measure(name: string, open: (dir: string) => Promise<Storage>): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-compaction-'))
  const storage = await open(dir)
  try {
    return { name, fold: await fold(storage, dir), hot: await hotSnapshot(storage, 'delta', '1-0'), refold: await hotSnapshot(storage, 'full', '2-0') }
  } finally {
    await storage.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const results = [await measure('embedded', (dir) => EmbeddedStorage.open(dir))]
if (mongoUrl) results.push(await measure('mongodb', () => MongoStorage.open({ url: mongoUrl, dbName: `bench_compaction_${process.pid}`, timeoutMs: 5_000, logger })))
await folder.close()
process.stdout.write(`${JSON.stringify(results)}\n`)
process.exit(0)
