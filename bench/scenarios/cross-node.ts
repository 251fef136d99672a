/**
 * Figure 3: what Redis adds when writer and reader sit on different nodes. Two of our nodes share
 * Redis and MongoDB; each room has its writer on node A and readers on A and on B, measured in the
 * same run so both see the same load. Extra latency = cross-node minus same-node.
 */
import { randomBytes } from 'node:crypto'
import { runJob } from '../lib/generator.ts'
import { mongoEnv, startInfra } from '../lib/infra.ts'
import type { LatencyJob, LatencyResult } from '../lib/jobs.ts'
import type { Row, Scenario } from '../lib/scenario.ts'
import { median, summarize } from '../lib/stats.ts'
import { startOurs } from '../lib/targets.ts'

const ROOMS = 20
const RATE = 5

export const crossNode: Scenario = {
  id: 'cross-node',
  figure: 3,
  title: 'Extra latency across nodes via Redis',
  async run(ctx) {
    if (!ctx.targets.includes('ours')) return []
    const infra = await startInfra()
    const env = { ...mongoEnv(infra, `bench_${randomBytes(4).toString('hex')}`), REDIS_URL: infra.redisUrl }
    const a = await startOurs({ env })
    const b = await startOurs({ env })
    try {
      const rooms = await a.rooms(ROOMS)
      const job: LatencyJob = { kind: 'latency', writerTarget: a.spec, readers: [{ target: a.spec, perRoom: 2 }, { target: b.spec, perRoom: 2 }], rooms, writersPerRoom: 1, rate: RATE, warmupMs: ctx.profile.warmupMs, durationMs: ctx.profile.durationMs }
      const same = { p50: [] as number[], p99: [] as number[] }
      const cross = { p50: [] as number[], p99: [] as number[] }
      let valid = true
      for (let round = 0; round < ctx.profile.rounds; round++) {
        const run = await runJob<LatencyResult>(job, a.pid)
        const [s, c] = [summarize(run.result.samples[0]!), summarize(run.result.samples[1]!)]
        same.p50.push(s.p50)
        same.p99.push(s.p99)
        cross.p50.push(c.p50)
        cross.p99.push(c.p99)
        valid &&= run.valid
        ctx.log(`  round ${round + 1}: same node p50 ${s.p50.toFixed(2)} / p99 ${s.p99.toFixed(2)} ms; other node p50 ${c.p50.toFixed(2)} / p99 ${c.p99.toFixed(2)} ms; generator ${(run.generatorCpu * 100).toFixed(0)}%`)
      }
      const row = (metric: string, value: number): Row => ({ figure: 3, metric, unit: 'ms', lowerIsBetter: true, values: { ours: value }, valid: { ours: valid } })
      return [
        row(`same node p99 (${ROOMS} rooms, 2 nodes, Redis + MongoDB)`, median(same.p99)),
        row('other node p99', median(cross.p99)),
        row('extra p50 across nodes', median(cross.p50) - median(same.p50)),
        row('extra p99 across nodes', median(cross.p99) - median(same.p99)),
      ]
    } finally {
      await a.stop()
      await b.stop()
      await infra.stop()
    }
  },
}
