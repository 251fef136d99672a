/**
 * Figure 6: compaction throughput (small updates folded per second, in bounded batches) and the
 * longest event-loop block it causes, plus the block of snapshotting a big hot document. Ours
 * only: the peers do not compact (y-websocket 1.5.4 and Hocuspocus store whole documents).
 */
import path from 'node:path'
import { startInfra } from '../lib/infra.ts'
import { spawnPinned, SERVER_CORE } from '../lib/proc.ts'
import type { Row, Scenario } from '../lib/scenario.ts'
import { ROOT } from '../lib/targets.ts'

interface ProbeResult {
  name: string
  fold: { perSecond: number; blockMs: number; ms: number }
  hot: { blockMs: number; ms: number; bytes: number }
  refold: { blockMs: number; ms: number; bytes: number }
}

function probe(updates: number, bigBytes: number, mongoUrl: string): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawnPinned(SERVER_CORE, process.execPath, ['--expose-gc', path.join(ROOT, 'bench/probes/compaction.ts'), String(updates), String(bigBytes), mongoUrl], { cwd: ROOT, stdout: true })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.on('exit', (code) => code === 0 ? resolve(JSON.parse(out) as ProbeResult[]) : reject(new Error(`compaction probe exited with ${code}`)))
  })
}

export const compaction: Scenario = {
  id: 'compaction',
  figure: 6,
  title: 'Compaction throughput and event-loop blocking',
  async run(ctx) {
    if (!ctx.targets.includes('ours')) return []
    const infra = await startInfra()
    try {
      const results = await probe(ctx.profile.compactionUpdates, ctx.profile.bigDocBytes, infra.mongoUrl)
      const values = (pick: (r: ProbeResult) => number): Row['values'] => Object.fromEntries(results.map((r) => [r.name, pick(r)]))
      const mib = (results[0]!.hot.bytes / 1024 / 1024).toFixed(1)
      const rows: Row[] = [
        { figure: 6, metric: `cold fold of ${ctx.profile.compactionUpdates} small updates into a snapshot`, unit: 'updates/s', lowerIsBetter: false, values: values((r) => r.fold.perSecond) },
        { figure: 6, metric: 'longest event-loop block during that fold', unit: 'ms', lowerIsBetter: true, values: values((r) => r.fold.blockMs) },
        { figure: 6, metric: `compaction of 1,000 updates in a hot ${mib} MiB room (delta)`, unit: 'ms', lowerIsBetter: true, values: values((r) => r.hot.ms) },
        { figure: 6, metric: 'longest event-loop block during that compaction', unit: 'ms', lowerIsBetter: true, values: values((r) => r.hot.blockMs) },
        { figure: 6, metric: `full re-fold of that room (every few compactions)`, unit: 'ms', lowerIsBetter: true, values: values((r) => r.refold.ms) },
        { figure: 6, metric: 'longest event-loop block during the re-fold', unit: 'ms', lowerIsBetter: true, values: values((r) => r.refold.blockMs) },
      ]
      for (const row of rows) ctx.log(`  ${row.metric}: ${JSON.stringify(row.values)}`)
      return rows
    } finally {
      await infra.stop()
    }
  },
}
