/**
 * Figure 7: isolation. A small room's latency (1 writer at 20 edits/s, 3 readers) while other
 * clients repeatedly sync a big room (two at a time, bare protocol clients that do not apply
 * the document, so the load generator stays light). A server that blocks its event loop on big
 * syncs makes everyone else wait.
 */
import type { TargetName } from '../lib/clients.ts'
import { runJob, startJob } from '../lib/generator.ts'
import type { ConnectJob, ConnectResult, LatencyJob, LatencyResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { summarize } from '../lib/stats.ts'
import { startTarget } from '../lib/targets.ts'

interface Isolated {
  baselineP99: number
  loadedP99: number
  bigSyncs: number
  valid: boolean
}

async function isolate(ctx: ScenarioContext, name: TargetName): Promise<Isolated> {
  const target = await startTarget(name)
  try {
    const [big, small] = await target.rooms(2) as [string, string]
    // One client brings the big document and stays, so every server keeps the room loaded.
    const holder: ConnectJob = { kind: 'connect', target: target.spec, rooms: [big], perRoom: 1, hold: true, docBytes: ctx.profile.bigDocBytes }
    const held = startJob<ConnectResult>(holder, target.pid)
    await held.phase('connected')
    const probe: LatencyJob = { kind: 'latency', writerTarget: target.spec, readers: [{ target: target.spec, perRoom: 3 }], rooms: [small], writersPerRoom: 1, rate: 20, warmupMs: ctx.profile.warmupMs, durationMs: ctx.profile.durationMs }
    const baseline = await runJob<LatencyResult>(probe, target.pid)
    const loaded = await runJob<LatencyResult>({ ...probe, meanwhile: { room: big, parallel: 2 } }, target.pid)
    const syncs = loaded.result.meanwhileMs.length
    held.stop()
    await held.done
    const result = { baselineP99: summarize(baseline.result.samples.flat()).p99, loadedP99: summarize(loaded.result.samples.flat()).p99, bigSyncs: syncs, valid: baseline.valid && loaded.valid }
    ctx.log(`  ${name}: small-room p99 ${result.baselineP99.toFixed(1)} ms alone, ${result.loadedP99.toFixed(1)} ms during ${syncs} big syncs; generator ${(loaded.generatorCpu * 100).toFixed(0)}%`)
    return result
  } finally {
    await target.stop()
  }
}

export const isolation: Scenario = {
  id: 'isolation',
  figure: 7,
  title: 'Small-room latency while a big room is synced repeatedly',
  async run(ctx) {
    const mib = (ctx.profile.bigDocBytes / 1024 / 1024).toFixed(0)
    const loaded: Row = { figure: 7, metric: `small-room p99 while clients sync a ${mib} MiB room`, unit: 'ms', lowerIsBetter: true, values: {}, valid: {} }
    const syncs: Row = { figure: 7, metric: `${mib} MiB syncs served meanwhile`, unit: 'syncs', lowerIsBetter: false, values: {} }
    for (const name of ctx.targets.filter((t) => t !== 'raw-ws')) {
      const result = await isolate(ctx, name)
      loaded.values[name] = result.loadedP99
      loaded.valid![name] = result.valid
      syncs.values[name] = result.bigSyncs
    }
    return [loaded, syncs]
  },
}
