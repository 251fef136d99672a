/**
 * Figure 2: each server's ceiling, found with the lean generator (precomputed Yjs edits in,
 * deliveries matched by client id and clock out, nothing applied on the generator side). 20 rooms
 * of 1 writer + 4 readers; the offered rate is stepped up, fresh rooms each step, until p99 passes
 * 50 ms or a delivery is missing, then bisected between the last pass and the first failure.
 * Reported at the highest passing step: edits/s in, deliveries/s out, and the server's CPU per
 * edit (its process CPU time over the measured window ÷ edits in the window).
 */
import type { TargetName } from '../lib/clients.ts'
import type { LeanJob } from '../lib/jobs.ts'
import { runLean, type LeanRun } from '../lib/lean-runner.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { startTarget, userOf, type RunningTarget } from '../lib/targets.ts'

const ROOMS = 20
const READERS = 4
const P99_LIMIT_MS = 50
/** Writer client ids: any fixed values work, rooms are fresh every step. */
const FIRST_CLIENT_ID = 0x10000

interface Step {
  rate: number
  run: LeanRun
  p99: number
  passed: boolean
}

interface Ceiling {
  best: Step | null
  generatorBound: boolean
}

async function measure(ctx: ScenarioContext, target: RunningTarget, rate: number): Promise<Step> {
  const names = await target.rooms(ROOMS)
  const job: LeanJob = {
    target: target.spec,
    rooms: names.map((name, r) => ({ name, writers: [FIRST_CLIENT_ID + r] })),
    readersPerRoom: READERS,
    author: userOf(target.spec),
    rate: rate / ROOMS,
    warmupMs: ctx.profile.warmupMs,
    durationMs: ctx.profile.durationMs,
  }
  const run = await runLean(job, ctx.profile.generators, target.pid)
  const p99 = run.latency.percentile(0.99)
  const passed = p99 < P99_LIMIT_MS && run.deliveries === run.expectedDeliveries && run.closes.length === 0
  ctx.log(`  ${target.spec.name} ${rate} edits/s offered: ${(run.edits / run.seconds).toFixed(0)} in, p99 ${p99.toFixed(1)} ms, ` +
    `delivered ${run.deliveries}/${run.expectedDeliveries}, generator ${(run.generatorCpu * 100).toFixed(0)}%, ` +
    `server ${(run.serverCpuSeconds / run.seconds * 100).toFixed(0)}% (${(run.serverCpuSeconds / run.edits * 1e6).toFixed(1)} µs/edit)` +
    `${run.closes.length ? `, ${run.closes.length} sockets closed (${run.closes[0]})` : ''}${run.starved ? `, ${run.starved} edits starved` : ''}`)
  return { rate, run, p99, passed }
}

/** Steps up until a failure, then bisects between the last pass and that failure. */
async function ceiling(ctx: ScenarioContext, name: TargetName): Promise<Ceiling> {
  const target = await startTarget(name)
  const result: Ceiling = { best: null, generatorBound: false }
  try {
    let failedAt: number | null = null
    for (const rate of ctx.profile.leanSteps) {
      const step = await measure(ctx, target, rate)
      if (!step.run.valid || step.run.starved > 0) return { ...result, generatorBound: true }
      if (!step.passed) {
        failedAt = rate
        break
      }
      result.best = step
    }
    for (let i = 0; i < ctx.profile.leanRefine && failedAt !== null; i++) {
      const rate = roundRate(((result.best?.rate ?? 0) + failedAt) / 2)
      if (rate === result.best?.rate || rate === failedAt) break
      const step = await measure(ctx, target, rate)
      if (!step.run.valid || step.run.starved > 0) return { ...result, generatorBound: true }
      if (step.passed) result.best = step
      else failedAt = rate
    }
    return result
  } finally {
    await target.stop()
  }
}

/** Two significant digits, so rates read cleanly in the log. */
function roundRate(rate: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1)
  return Math.round(rate / unit) * unit
}

export const throughput: Scenario = {
  id: 'throughput',
  figure: 2,
  title: `Ceiling: highest sustained edits/s with p99 < ${P99_LIMIT_MS} ms and every delivery made (lean generator)`,
  async run(ctx) {
    const edits: Row = { figure: 2, metric: `highest sustained edits/s in, p99 < ${P99_LIMIT_MS} ms, all delivered (${ROOMS} rooms x 1 writer + ${READERS} readers, lean generator)`, unit: '/s', lowerIsBetter: false, values: {}, valid: {} }
    const deliveries: Row = { figure: 2, metric: 'deliveries/s out at that rate', unit: '/s', lowerIsBetter: false, values: {}, valid: {} }
    const cpu: Row = { figure: 2, metric: 'server CPU per edit at that rate', unit: 'µs', lowerIsBetter: true, values: {}, valid: {} }
    for (const name of ctx.targets) {
      const { best, generatorBound } = await ceiling(ctx, name)
      const run = best?.run
      edits.values[name] = run ? run.edits / run.seconds : 0
      deliveries.values[name] = run ? run.deliveries / run.seconds : 0
      cpu.values[name] = run ? (run.serverCpuSeconds / run.edits) * 1e6 : Number.NaN
      for (const row of [edits, deliveries, cpu]) row.valid![name] = !generatorBound
    }
    return [edits, deliveries, cpu]
  },
}
