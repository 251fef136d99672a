/**
 * Figure 1: end-to-end update latency (writer's edit to readers' observe, one clock) in one room
 * of 100 clients at 10 edits/s, and in 500 rooms of 3 clients (one writer each at 2 edits/s).
 */
import type { LatencyJob, LatencyResult } from '../lib/jobs.ts'
import { runJob } from '../lib/generator.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { medianSummary, summarize, type Summary } from '../lib/stats.ts'
import { startTarget } from '../lib/targets.ts'
import type { TargetName } from '../lib/clients.ts'

interface Shape {
  label: string
  rooms: number
  writersPerRoom: number
  readersPerRoom: number
  rate: number
}

export async function measureLatency(ctx: ScenarioContext, name: TargetName, shape: Shape): Promise<{ summary: Summary; valid: boolean }> {
  const target = await startTarget(name)
  try {
    const rooms = await target.rooms(shape.rooms)
    const job: LatencyJob = { kind: 'latency', writerTarget: target.spec, readers: [{ target: target.spec, perRoom: shape.readersPerRoom }], rooms, writersPerRoom: shape.writersPerRoom, rate: shape.rate, warmupMs: ctx.profile.warmupMs, durationMs: ctx.profile.durationMs }
    const rounds: Summary[] = []
    let valid = true
    for (let round = 0; round < ctx.profile.rounds; round++) {
      const run = await runJob<LatencyResult>(job, target.pid)
      rounds.push(summarize(run.result.samples.flat()))
      valid &&= run.valid
      ctx.log(`  ${name} ${shape.label} round ${round + 1}: p50 ${rounds.at(-1)!.p50.toFixed(2)} ms, p99 ${rounds.at(-1)!.p99.toFixed(2)} ms, ${run.result.samples.flat().length}/${run.result.expectedDeliveries} delivered, generator ${(run.generatorCpu * 100).toFixed(0)}%, server ${(run.serverCpu * 100).toFixed(0)}%`)
    }
    return { summary: medianSummary(rounds), valid }
  } finally {
    await target.stop()
  }
}

export const latency: Scenario = {
  id: 'latency',
  figure: 1,
  title: 'End-to-end update latency',
  async run(ctx) {
    const shapes: Shape[] = [
      { label: `1 room x ${ctx.profile.oneRoomClients} clients, 10 edits/s`, rooms: 1, writersPerRoom: 1, readersPerRoom: ctx.profile.oneRoomClients - 1, rate: 10 },
      { label: `${ctx.profile.manyRooms} rooms x 3 clients, 2 edits/s each`, rooms: ctx.profile.manyRooms, writersPerRoom: 1, readersPerRoom: 2, rate: 2 },
    ]
    const rows: Row[] = []
    for (const shape of shapes) {
      const p50: Row = { figure: 1, metric: `${shape.label}: p50`, unit: 'ms', lowerIsBetter: true, values: {}, valid: {} }
      const p99: Row = { figure: 1, metric: `${shape.label}: p99`, unit: 'ms', lowerIsBetter: true, values: {}, valid: {} }
      for (const name of ctx.targets) {
        const { summary, valid } = await measureLatency(ctx, name, shape)
        p50.values[name] = summary.p50
        p99.values[name] = summary.p99
        p50.valid![name] = valid
        p99.valid![name] = valid
      }
      rows.push(p50, p99)
    }
    return rows
  },
}
