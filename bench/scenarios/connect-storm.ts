/** Figure 8: a connect storm — many clients connecting and syncing at once — time to synced. */
import type { TargetName } from '../lib/clients.ts'
import { runJob } from '../lib/generator.ts'
import type { ConnectJob, ConnectResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { median, summarize } from '../lib/stats.ts'
import { startTarget } from '../lib/targets.ts'

const PER_ROOM = 10

async function storm(ctx: ScenarioContext, name: TargetName): Promise<{ p50: number; p99: number; failures: number; valid: boolean }> {
  const p50: number[] = []
  const p99: number[] = []
  let failures = 0
  let valid = true
  for (let round = 0; round < ctx.profile.rounds; round++) {
    const target = await startTarget(name)
    try {
      const rooms = await target.rooms(Math.ceil(ctx.profile.stormClients / PER_ROOM))
      const run = await runJob<ConnectResult>({ kind: 'connect', target: target.spec, rooms, perRoom: PER_ROOM, hold: false } satisfies ConnectJob, target.pid)
      const summary = summarize(run.result.times)
      p50.push(summary.p50)
      p99.push(summary.p99)
      failures += run.result.failures
      valid &&= run.valid
      ctx.log(`  ${name} round ${round + 1}: p50 ${summary.p50.toFixed(0)} ms, p99 ${summary.p99.toFixed(0)} ms, ${run.result.failures} failed, generator ${(run.generatorCpu * 100).toFixed(0)}%`)
    } finally {
      await target.stop()
    }
  }
  return { p50: median(p50), p99: median(p99), failures, valid }
}

export const connectStorm: Scenario = {
  id: 'connect-storm',
  figure: 8,
  title: 'Connect storm',
  async run(ctx) {
    const row = (metric: string): Row => ({ figure: 8, metric, unit: 'ms', lowerIsBetter: true, values: {}, valid: {} })
    const p50 = row(`${ctx.profile.stormClients} clients connecting and syncing at once: p50`)
    const p99 = row(`${ctx.profile.stormClients} clients connecting and syncing at once: p99`)
    for (const name of ctx.targets) {
      const result = await storm(ctx, name)
      p50.values[name] = result.p50
      p99.values[name] = result.p99
      p50.valid![name] = p99.valid![name] = result.valid && result.failures === 0
    }
    return [p50, p99]
  },
}
