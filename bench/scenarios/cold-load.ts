/**
 * Figure 4: cold load to first sync step 2 — a room not in memory, whose snapshot is in storage,
 * requested by a fresh socket — for a 160 KB and a big document, from the embedded store and
 * from MongoDB. Meanwhile another room carries live edits (50/s); its worst delivery delay
 * during the loads is how long the load blocked everyone else. The peers keep documents in
 * memory only, so this row is ours alone.
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
import { PIECE_BYTES } from '../../server/collab/compaction/folder.ts'
import { encodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { canvasOfSize } from '../lib/fixtures.ts'
import { runJob } from '../lib/generator.ts'
import { scrapeMetric } from '../lib/metrics-scrape.ts'
import { mongoEnv, startInfra, type Infra } from '../lib/infra.ts'
import type { LatencyJob, LatencyResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { median } from '../lib/stats.ts'
import { startOurs, type RunningTarget } from '../lib/targets.ts'

const GRACE = { ROOM_GRACE_MS: '100' }
const silent = pino({ level: 'silent' })

interface Loaded {
  ms: number
  /** Worst delay of another room's live edits while the loads ran (two or three event-loop turns). */
  blockMs: number
  /** The server's own longest event-loop stall over the loads (prom-client's lag max). */
  stallMs: number
  /** The storage's own read of the snapshot, from this process with the same code (the floor of a load). */
  readMs?: number
}

const EVICTED_AFTER_MS = 1_000
const LAG_MAX = 'nodejs_eventloop_lag_max_seconds'

async function coldLoads(ctx: ScenarioContext, target: RunningTarget, room: string, bystander: string): Promise<Loaded> {
  const probe: LatencyJob = {
    kind: 'latency',
    writerTarget: target.spec,
    readers: [{ target: target.spec, perRoom: 1 }],
    rooms: [bystander],
    writersPerRoom: 1,
    rate: 50,
    warmupMs: 1_000,
    durationMs: ctx.profile.rounds * (EVICTED_AFTER_MS + 1_000),
    // each sync waits for the room to be evicted first, so every one is a cold load
    meanwhile: { room, parallel: 1, count: ctx.profile.rounds, pauseMs: EVICTED_AFTER_MS },
  }
  await scrapeMetric(target.httpBase, LAG_MAX) // resets it
  const run = await runJob<LatencyResult>(probe, target.pid)
  const stallMs = await scrapeMetric(target.httpBase, LAG_MAX) * 1000
  if (run.result.meanwhileMs.length < ctx.profile.rounds) throw new Error(`cold loads of ${room} did not all finish`)
  return { ms: median(run.result.meanwhileMs), blockMs: Math.max(...run.result.samples.flat()), stallMs }
}

/** Stores the document as compaction would: in pieces. */
async function store(storage: Storage, room: string, doc: Y.Doc): Promise<number> {
  const update = Y.encodeStateAsUpdate(doc)
  const pieces = splitUpdate(update, PIECE_BYTES)
  const meta = { infos: pieces.map(updateInfo), stateVector: Y.encodeStateVector(doc), bindings: new Map<number, string>() }
  await storage.snapshots.save(room, encodeSnapshot(pieces, pieces.length, meta), '1-0')
  return update.length
}

/** Median time of the storage's own `load` of a room's snapshot. */
async function timedReads(storage: Storage, room: string, rounds: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    await storage.snapshots.load(room)
    times.push(performance.now() - started)
  }
  return median(times)
}

/** Creates the rooms (plus a bystander room) on a running server, then writes their snapshots. */
async function prepare(target: RunningTarget, docs: Y.Doc[], write: (rooms: string[]) => Promise<void>): Promise<string[]> {
  const rooms = await target.rooms(docs.length + 1)
  await write(rooms.slice(0, docs.length))
  return rooms
}

async function embedded(ctx: ScenarioContext, docs: Y.Doc[]): Promise<Loaded[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-cold-'))
  try {
    let target = await startOurs({ dataDir, env: GRACE })
    const rooms = await prepare(target, docs, async () => {})
    await target.stop() // LevelDB is single-process: write while the server is down
    const storage = await EmbeddedStorage.open(dataDir)
    for (const [i, doc] of docs.entries()) await store(storage, rooms[i]!, doc)
    await storage.close()
    target = await startOurs({ dataDir, env: GRACE })
    try {
      const results: Loaded[] = []
      for (const room of rooms.slice(0, docs.length)) results.push(await coldLoads(ctx, target, room, rooms.at(-1)!))
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
    const readMs: number[] = []
    const rooms = await prepare(target, docs, async (created) => {
      const storage = await MongoStorage.open({ url: infra.mongoUrl, dbName: db, timeoutMs: 5_000, logger: silent })
      for (const [i, room] of created.entries()) {
        await store(storage, room, docs[i]!)
        readMs.push(await timedReads(storage, room, ctx.profile.rounds))
      }
      await storage.close()
    })
    const results: Loaded[] = []
    for (const [i, room] of rooms.slice(0, docs.length).entries()) results.push({ ...await coldLoads(ctx, target, room, rooms.at(-1)!), readMs: readMs[i] })
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
        rows.push({ figure: 4, metric: `worst delay of another room's edits during those loads`, unit: 'ms', lowerIsBetter: true, values: { embedded: fromEmbedded[i]!.blockMs, mongodb: fromMongo[i]!.blockMs } })
        rows.push({ figure: 4, metric: `server's longest event-loop stall during those loads`, unit: 'ms', lowerIsBetter: true, values: { embedded: fromEmbedded[i]!.stallMs, mongodb: fromMongo[i]!.stallMs } })
        rows.push({ figure: 4, metric: `the MongoDB-wire server's own read of that snapshot (driver, median; the floor of the load above)`, unit: 'ms', lowerIsBetter: true, values: { mongodb: fromMongo[i]!.readMs! } })
      })
      for (const row of rows) ctx.log(`  ${row.metric}: embedded ${row.values.embedded?.toFixed(1)} ms, MongoDB ${row.values.mongodb?.toFixed(1)} ms`)
      return rows
    } finally {
      await infra.stop()
    }
  },
}
