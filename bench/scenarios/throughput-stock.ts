/**
 * Figure 2 with stock clients: the highest sustained rate (edits/s in, deliveries/s out) with p99
 * under 50 ms and every delivery made: 20 rooms of 1 writer + 4 readers, the total edit rate
 * raised step by step. Stock providers apply every update, so the generator usually saturates
 * first (the figure is then a lower bound and says so); it proves the protocol under load, the
 * lean generator (throughput.ts) finds the ceilings.
 */
import { runJob } from '../lib/generator.ts'
import type { LatencyJob, LatencyResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { summarize } from '../lib/stats.ts'
import { startTarget } from '../lib/targets.ts'
import type { TargetName } from '../lib/clients.ts'

const ROOMS = 20
const READERS = 4
const P99_LIMIT_MS = 50

interface Sustained {
  edits: number
  deliveries: number
  /** Edits per second one server core could sustain, from the CPU the highest passing step used. */
  perCore: number
  generatorBound: boolean
}

async function ramp(ctx: ScenarioContext, name: TargetName): Promise<Sustained> {
  const target = await startTarget(name)
  const best: Sustained = { edits: 0, deliveries: 0, perCore: 0, generatorBound: false }
  try {
    const rooms = await target.rooms(ROOMS)
    for (const step of ctx.profile.throughputSteps) {
      const job: LatencyJob = { kind: 'latency', writerTarget: target.spec, readers: [{ target: target.spec, perRoom: READERS }], rooms, writersPerRoom: 1, rate: step / ROOMS, warmupMs: 1_000, durationMs: ctx.profile.durationMs }
      const run = await runJob<LatencyResult>(job, target.pid)
      const samples = run.result.samples.flat()
      const p99 = summarize(samples).p99
      const delivered = samples.length / Math.max(1, run.result.expectedDeliveries)
      ctx.log(`  ${name} ${step} edits/s: p99 ${p99.toFixed(1)} ms, delivered ${(delivered * 100).toFixed(1)}%, generator ${(run.generatorCpu * 100).toFixed(0)}%, server ${(run.serverCpu * 100).toFixed(0)}%`)
      if (!run.valid) {
        best.generatorBound = true
        break
      }
      if (p99 > P99_LIMIT_MS || delivered < 0.999) break
      best.edits = run.result.edits / run.result.seconds
      best.deliveries = samples.length / run.result.seconds
      best.perCore = best.edits / run.serverCpu
    }
    return best
  } finally {
    await target.stop()
  }
}

export const throughputStock: Scenario = {
  id: 'throughput-stock',
  figure: 2,
  title: `Highest sustained throughput with p99 < ${P99_LIMIT_MS} ms, stock clients`,
  async run(ctx) {
    const edits: Row = { figure: 2, metric: `stock clients: sustained edits/s in (${ROOMS} rooms x ${1 + READERS} clients)`, unit: '/s', lowerIsBetter: false, values: {}, valid: {} }
    const deliveries: Row = { figure: 2, metric: 'stock clients: sustained deliveries/s out', unit: '/s', lowerIsBetter: false, values: {}, valid: {} }
    const perCore: Row = { figure: 2, metric: 'stock clients: edits/s per server core (at that rate: rate ÷ server CPU share)', unit: '/s', lowerIsBetter: false, values: {} }
    for (const name of ctx.targets) {
      const result = await ramp(ctx, name)
      edits.values[name] = result.edits
      deliveries.values[name] = result.deliveries
      perCore.values[name] = result.perCore
      edits.valid![name] = !result.generatorBound
      deliveries.valid![name] = !result.generatorBound
    }
    return [edits, deliveries, perCore]
  },
}
