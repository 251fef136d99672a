/**
 * Figure 2b: server CPU per edit at fixed everyday rates (20 rooms x 1 writer + 4 readers, lean
 * generator, evenly spread edits), measured so that it can decide: each rate is measured
 * CPU_ROUNDS times per server, the servers interleaved (round 1: ours, peer, ...; round 2 in
 * another order; each measure on a freshly started server and fresh rooms), and reported as the
 * median with its spread (lowest-highest). A ratio whose two spreads overlap the difference
 * between the medians is flagged "undecided": the run cannot tell the two apart.
 */
import type { TargetName } from '../lib/clients.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { median } from '../lib/stats.ts'
import { startTarget } from '../lib/targets.ts'
import { cpuPerEdit, measureOnce } from './throughput.ts'

export const CPU_RATES = [2_000, 4_000]
const CPU_ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 3)

interface Spread {
  median: number
  low: number
  high: number
  samples: number[]
}

function spreadOf(samples: number[]): Spread {
  const finite = samples.filter(Number.isFinite)
  return { median: median(finite), low: Math.min(...finite), high: Math.max(...finite), samples: finite }
}

/** Two medians are told apart when neither one's range reaches the other's median. */
export function decided(a: Spread, b: Spread): boolean {
  if (a.samples.length === 0 || b.samples.length === 0) return false
  return a.median < b.median ? a.high < b.median && b.low > a.median : b.high < a.median && a.low > b.median
}

/** Each round visits the targets in a rotated order, so no server always runs first or last. */
function rotated<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!)
}

async function measureAt(ctx: ScenarioContext, name: TargetName, rate: number): Promise<number> {
  const target = await startTarget(name)
  try {
    const step = await measureOnce(ctx, target, rate)
    const valid = step.run.valid && step.run.starved === 0 && step.run.deliveries === step.run.expectedDeliveries
    return valid ? cpuPerEdit(step.run) : Number.NaN
  } finally {
    await target.stop()
  }
}

export const cpuAtRate: Scenario = {
  id: 'cpu',
  figure: 2,
  title: `Server CPU per edit at fixed rates, ${CPU_ROUNDS} interleaved rounds, median and spread`,
  async run(ctx) {
    const rows: Row[] = []
    for (const rate of CPU_RATES) {
      const samples = new Map<TargetName, number[]>(ctx.targets.map((t) => [t, []]))
      for (let round = 0; round < CPU_ROUNDS; round++) {
        for (const name of rotated(ctx.targets, round)) samples.get(name)!.push(await measureAt(ctx, name, rate))
      }
      const spreads = new Map([...samples].map(([name, values]) => [name, spreadOf(values)]))
      const ours = spreads.get('ours')
      const undecided = ours ? [...spreads].filter(([name, s]) => name !== 'ours' && !decided(ours, s)).map(([name]) => name) : []
      const ranges = [...spreads].map(([name, s]) => `${name} ${s.low.toFixed(0)}-${s.high.toFixed(0)}`).join(', ')
      rows.push({
        figure: 2,
        metric: `server CPU per edit at ${rate} edits/s, median of ${CPU_ROUNDS} interleaved runs`,
        unit: 'µs',
        lowerIsBetter: true,
        values: Object.fromEntries([...spreads].map(([name, s]) => [name, s.median])),
        note: `spread ${ranges}${undecided.length > 0 ? `; UNDECIDED vs ${undecided.join(', ')} (spread wider than the difference)` : ''}`,
      })
      ctx.log(`  ${rate} edits/s: ${[...spreads].map(([name, s]) => `${name} ${s.samples.map((v) => v.toFixed(0)).join('/')} µs`).join('; ')}`)
    }
    return rows
  },
}
