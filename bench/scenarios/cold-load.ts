/**
 * Figure 4: cold load to first sync step 2 — a room not in memory, whose snapshot is in storage,
 * requested by a fresh socket — for a 160 KB and a big document, from the embedded store and
 * from MongoDB, with the longest event-loop block the load caused (from the server's own
 * metrics). The peers keep documents in memory only, so this row is ours alone.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import * as Y from 'yjs'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import type { Storage } from '../../server/storage/types.ts'
import { PIECE_BYTES } from '../../server/collab/folder.ts'
import { encodeSnapshot } from '../../server/collab/snapshot-codec.ts'
import { splitUpdate } from '../../server/collab/split-update.ts'
import { canvasOfSize } from '../lib/fixtures.ts'
import { runJob } from '../lib/generator.ts'
import { mongoEnv, startInfra, type Infra } from '../lib/infra.ts'
import type { RawSyncJob, RawSyncResult } from '../lib/jobs.ts'
import { scrapeMetric } from '../lib/metrics-scrape.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { median } from '../lib/stats.ts'
import { startOurs, type RunningTarget } from '../lib/targets.ts'

const GRACE = { ROOM_GRACE_MS: '100' }
const silent = pino({ level: 'silent' })

interface Loaded {
  ms: number
  blockMs: number
}

async function coldLoads(ctx: ScenarioContext, target: RunningTarget, room: string): Promise<Loaded> {
  const times: number[] = []
  const blocks: number[] = []
  for (let round = 0; round < ctx.profile.rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // evicted since the last one
    await scrapeMetric(target.httpBase, 'nodejs_eventloop_lag_max_seconds')
    const job: RawSyncJob = { kind: 'raw-sync', target: target.spec, rooms: [room], repeat: 1 }
    const run = await runJob<RawSyncResult>(job, target.pid)
    if (run.result.failures > 0) throw new Error(`cold load of ${room} failed`)
    times.push(run.result.step2Ms[0]!)
    blocks.push(1000 * await scrapeMetric(target.httpBase, 'nodejs_eventloop_lag_max_seconds'))
  }
  return { ms: median(times), blockMs: median(blocks) }
}

/** Stores the document as compaction would: in pieces. */
async function store(storage: Storage, room: string, doc: Y.Doc): Promise<number> {
  const update = Y.encodeStateAsUpdate(doc)
  await storage.snapshots.save(room, encodeSnapshot(splitUpdate(update, PIECE_BYTES)), '1-0')
  return update.length
}

/** Creates the rooms on a running server, then writes their snapshots with `write`. */
async function prepare(target: RunningTarget, docs: Y.Doc[], write: (rooms: string[]) => Promise<void>): Promise<string[]> {
  const rooms = await target.rooms(docs.length)
  await write(rooms)
  return rooms
}

async function embedded(ctx: ScenarioContext, docs: Y.Doc[]): Promise<Loaded[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-cold-'))
  try {
    let target = await startOurs({ dataDir, env: GRACE })
    const rooms = await prepare(target, docs, async () => {})
    await target.stop() // LevelDB is single-process: write while the server is down
    const storage = await EmbeddedStorage.open(dataDir)
    for (const [i, room] of rooms.entries()) await store(storage, room, docs[i]!)
    await storage.close()
    target = await startOurs({ dataDir, env: GRACE })
    try {
      const results: Loaded[] = []
      for (const room of rooms) results.push(await coldLoads(ctx, target, room))
      return results
    } finally {
      await target.stop()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function mongodb(ctx: ScenarioContext, docs: Y.Doc[], infra: Infra): Promise<Loaded[]> {
  const db = `bench_${randomBytes(4).toString('hex')}`
  const target = await startOurs({ env: { ...GRACE, ...mongoEnv(infra, db) } })
  try {
    const rooms = await prepare(target, docs, async (created) => {
      const storage = await MongoStorage.open({ url: infra.mongoUrl, dbName: db, timeoutMs: 5_000, logger: silent })
      for (const [i, room] of created.entries()) await store(storage, room, docs[i]!)
      await storage.close()
    })
    const results: Loaded[] = []
    for (const room of rooms) results.push(await coldLoads(ctx, target, room))
    return results
  } finally {
    await target.stop()
  }
}

export const coldLoad: Scenario = {
  id: 'cold-load',
  figure: 4,
  title: 'Cold load to first sync step 2',
  async run(ctx) {
    if (!ctx.targets.includes('ours')) return []
    const docs = [canvasOfSize(ctx.profile.smallDocBytes), canvasOfSize(ctx.profile.bigDocBytes)]
    const sizes = docs.map((d) => Y.encodeStateAsUpdate(d).length)
    const infra = await startInfra()
    try {
      const fromEmbedded = await embedded(ctx, docs)
      const fromMongo = await mongodb(ctx, docs, infra)
      const label = (bytes: number): string => bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KB`
      const rows: Row[] = []
      sizes.forEach((bytes, i) => {
        rows.push({ figure: 4, metric: `cold load, ${label(bytes)} document`, unit: 'ms', lowerIsBetter: true, values: { embedded: fromEmbedded[i]!.ms, mongodb: fromMongo[i]!.ms } })
        rows.push({ figure: 4, metric: `longest event-loop block during that load`, unit: 'ms', lowerIsBetter: true, values: { embedded: fromEmbedded[i]!.blockMs, mongodb: fromMongo[i]!.blockMs } })
      })
      for (const row of rows) ctx.log(`  ${row.metric}: embedded ${row.values.embedded?.toFixed(1)} ms, MongoDB ${row.values.mongodb?.toFixed(1)} ms`)
      return rows
    } finally {
      await infra.stop()
    }
  },
}
