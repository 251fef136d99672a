/**
 * Figure 11: history under load (ours only: the peers keep no history). A small room's latency
 * (1 writer at 20 edits/s, 3 readers) while one viewer cycles diffs over 8 versions of a big
 * canvas, more than the doc worker holds (so every diff rebuilds two whole documents in the
 * worker that every room's sync answers share). The per-user view budget (HISTORY_VIEWS_PER_MINUTE,
 * 60 versions built a minute) is as shipped: over a run this short it refuses nothing, so the
 * figure is the cost of the diffs themselves.
 */
import { runJob, startJob } from '../lib/generator.ts'
import type { ConnectJob, ConnectResult, LatencyJob, LatencyResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { summarize } from '../lib/stats.ts'
import { startOurs, type RunningTarget } from '../lib/targets.ts'

const VERSIONS = 8

interface Cycled {
  aloneP99: number
  cyclingP99: number
  served: number
  refused: number
}

async function nameVersions(target: RunningTarget, groupId: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < VERSIONS; i++) {
    const response = await fetch(`${target.httpBase}/groups/${groupId}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.spec.token}` },
      body: JSON.stringify({ doc: 'canvas', name: `bench ${i}` }),
    })
    if (response.status !== 201) throw new Error(`name a version: ${response.status} ${await response.text()}`)
    ids.push(((await response.json()) as { version: { id: string } }).version.id)
  }
  return ids
}

/** Asks for diffs between neighbouring versions, round and round, until `stop` says so. */
async function cycleDiffs(target: RunningTarget, groupId: string, ids: string[], stop: { done: boolean }): Promise<{ served: number; refused: number }> {
  const counts = { served: 0, refused: 0 }
  for (let i = 0; !stop.done; i++) {
    const from = ids[i % ids.length]!
    const to = ids[(i + 1) % ids.length]!
    const response = await fetch(`${target.httpBase}/groups/${groupId}/versions/${from}/diff?to=${to}`, { headers: { authorization: `Bearer ${target.spec.token}` } })
    await response.arrayBuffer()
    if (response.status === 200) counts.served++
    else if (response.status === 429) counts.refused++
    else throw new Error(`diff: ${response.status}`)
  }
  return counts
}

async function cycled(ctx: ScenarioContext): Promise<Cycled> {
  const target = await startOurs()
  try {
    const [big, small] = await target.rooms(2) as [string, string]
    const holder: ConnectJob = { kind: 'connect', target: target.spec, rooms: [big], perRoom: 1, hold: true, docBytes: ctx.profile.bigDocBytes }
    const held = startJob<ConnectResult>(holder, target.pid)
    await held.phase('connected')
    const groupId = big.split('/')[0]!
    const ids = await nameVersions(target, groupId)
    const probe: LatencyJob = { kind: 'latency', writerTarget: target.spec, readers: [{ target: target.spec, perRoom: 3 }], rooms: [small], writersPerRoom: 1, rate: 20, warmupMs: ctx.profile.warmupMs, durationMs: ctx.profile.durationMs }
    const alone = await runJob<LatencyResult>(probe, target.pid)
    const stop = { done: false }
    const viewer = cycleDiffs(target, groupId, ids, stop)
    const during = await runJob<LatencyResult>(probe, target.pid).finally(() => { stop.done = true })
    const counts = await viewer
    held.stop()
    await held.done
    return { aloneP99: summarize(alone.result.samples.flat()).p99, cyclingP99: summarize(during.result.samples.flat()).p99, ...counts }
  } finally {
    await target.stop()
  }
}

export const historyLoad: Scenario = {
  id: 'history-load',
  figure: 11,
  title: 'Small-room latency while a viewer cycles diffs of a big canvas',
  async run(ctx) {
    if (!ctx.targets.includes('ours')) return []
    const mib = (ctx.profile.bigDocBytes / 1024 / 1024).toFixed(0)
    const r = await cycled(ctx)
    ctx.log(`  ours: small-room p99 ${r.aloneP99.toFixed(1)} ms alone, ${r.cyclingP99.toFixed(1)} ms while a viewer cycles ${mib} MiB diffs (${r.served} served, ${r.refused} refused)`)
    const row = (metric: string, unit: string, value: number, lowerIsBetter = true): Row => ({ figure: 11, metric, unit, lowerIsBetter, values: { ours: value } })
    return [
      row('small-room p99, no viewer', 'ms', r.aloneP99),
      row(`small-room p99 while one viewer cycles diffs over ${VERSIONS} versions of a ${mib} MiB canvas`, 'ms', r.cyclingP99),
      row('diffs served to that viewer meanwhile', 'diffs', r.served, false),
      row('diffs refused to that viewer (429)', 'diffs', r.refused, false),
    ]
  },
}
