/**
 * Figure 5: server memory (RSS growth) per idle connection — thousands of quiet clients over
 * many rooms — and per loaded room relative to its document's encoded size (each room held by
 * one client that brought a 160 KB canvas). Both samples follow a full GC in the server: without
 * it, the same server's figure swung between 13 and 34 KiB per connection from run to run,
 * depending on when V8 had last collected.
 */
import type { TargetName } from '../lib/clients.ts'
import { startJob } from '../lib/generator.ts'
import type { ConnectJob, ConnectResult } from '../lib/jobs.ts'
import { rssBytes } from '../lib/proc.ts'
import { scrapeMetric } from '../lib/metrics-scrape.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { collectGarbage, startTarget, type RunningTarget } from '../lib/targets.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const SETTLE_MS = 3_000

/** Where our server's memory is: JS heap in use and external (Buffers), from /metrics. */
async function heapParts(target: RunningTarget): Promise<{ heap: number; external: number } | null> {
  if (target.spec.name !== 'ours') return null
  return { heap: await scrapeMetric(target.httpBase, 'nodejs_heap_size_used_bytes'), external: await scrapeMetric(target.httpBase, 'nodejs_external_memory_bytes') }
}

/** Server RSS growth while the job's clients are connected and quiet (ours: and its parts, logged). */
async function heldGrowth(ctx: ScenarioContext, name: TargetName, rooms: number, build: (rooms: string[]) => Omit<ConnectJob, 'rooms' | 'target'>): Promise<number> {
  const target = await startTarget(name)
  try {
    const names = await target.rooms(rooms)
    await sleep(SETTLE_MS)
    await collectGarbage(target.pid)
    const before = rssBytes(target.pid)
    const partsBefore = await heapParts(target)
    const held = startJob<ConnectResult>({ ...build(names), rooms: names, target: target.spec }, target.pid)
    await held.phase('connected')
    await sleep(SETTLE_MS)
    await collectGarbage(target.pid)
    const after = rssBytes(target.pid)
    const partsAfter = await heapParts(target)
    held.stop()
    const run = await held.done
    if (run.result.failures > 0) throw new Error(`${run.result.failures} clients failed to connect`)
    if (partsBefore && partsAfter) {
      const kib = (bytes: number): string => (bytes / 1024).toFixed(0)
      const heap = partsAfter.heap - partsBefore.heap
      const external = partsAfter.external - partsBefore.external
      ctx.log(`  ${name}: RSS +${kib(after - before)} KiB = JS heap +${kib(heap)} KiB, external +${kib(external)} KiB, the rest (sockets, allocator) +${kib(after - before - heap - external)} KiB`)
    }
    return after - before
  } finally {
    await target.stop()
  }
}

export const memory: Scenario = {
  id: 'memory',
  figure: 5,
  title: 'Memory per idle connection and per loaded room',
  async run(ctx) {
    const { idleConnections, idleRooms, loadedRooms, smallDocBytes } = ctx.profile
    const perRoom = Math.round(idleConnections / idleRooms)
    const perConnection: Row = { figure: 5, metric: `server RSS per idle connection (${perRoom * idleRooms} over ${idleRooms} rooms)`, unit: 'bytes', lowerIsBetter: true, values: {} }
    const perLoadedRoom: Row = { figure: 5, metric: `server RSS per loaded room, x its ${Math.round(smallDocBytes / 1024)} KB document`, unit: 'x', lowerIsBetter: true, values: {} }
    for (const name of ctx.targets) {
      const growth = await heldGrowth(ctx, name, idleRooms, () => ({ kind: 'connect', perRoom, hold: true }))
      perConnection.values[name] = growth / (perRoom * idleRooms)
      ctx.log(`  ${name}: ${(perConnection.values[name]! / 1024).toFixed(1)} KiB per idle connection`)
      if (name === 'raw-ws') continue
      const loaded = await heldGrowth(ctx, name, loadedRooms, () => ({ kind: 'connect', perRoom: 1, hold: true, docBytes: smallDocBytes }))
      perLoadedRoom.values[name] = loaded / (loadedRooms * smallDocBytes)
      ctx.log(`  ${name}: a loaded room costs ${perLoadedRoom.values[name]!.toFixed(1)}x its document`)
    }
    return ctx.targets.includes('ours') ? [perConnection, perLoadedRoom, await crowdOfOurs(ctx, 2 * idleConnections, 2 * idleRooms)] : [perConnection, perLoadedRoom]
  },
}

/** Ours at twice the idle crowd (10,000 sockets in the full profile): one node holds them all. */
async function crowdOfOurs(ctx: ScenarioContext, sockets: number, rooms: number): Promise<Row> {
  const perRoom = Math.round(sockets / rooms)
  const growth = await heldGrowth(ctx, 'ours', rooms, () => ({ kind: 'connect', perRoom, hold: true }))
  ctx.log(`  ours: ${perRoom * rooms} idle sockets on one node, ${(growth / (perRoom * rooms) / 1024).toFixed(1)} KiB each`)
  return { figure: 5, metric: `server RSS per idle connection, ours alone at ${perRoom * rooms} sockets on one node (over ${rooms} rooms)`, unit: 'bytes', lowerIsBetter: true, values: { ours: growth / (perRoom * rooms) } }
}
