/**
 * `npm run bench [-- --profile quick|full] [--only latency,throughput] [--targets ours,hocuspocus] [--generators N]`
 *
 * Runs each scenario against our server and its peers on this machine, servers pinned to one
 * core and load generators to another, and prints medians with ratios to each peer. Results are
 * also written to bench/results/.
 */
import { parseArgs } from 'node:util'
import type { TargetName } from './lib/clients.ts'
import { record, table } from './lib/report.ts'
import { PROFILES, type Row, type Scenario } from './lib/scenario.ts'
import { coldLoad } from './scenarios/cold-load.ts'
import { compaction } from './scenarios/compaction.ts'
import { connectStorm } from './scenarios/connect-storm.ts'
import { cpuAtRate } from './scenarios/cpu-at-rate.ts'
import { crossNode } from './scenarios/cross-node.ts'
import { historyLoad } from './scenarios/history-load.ts'
import { isolation } from './scenarios/isolation.ts'
import { latency } from './scenarios/latency.ts'
import { memory } from './scenarios/memory.ts'
import { restAuth } from './scenarios/rest-auth.ts'
import { restartSync } from './scenarios/restart-sync.ts'
import { soak } from './scenarios/soak.ts'
import { throughput } from './scenarios/throughput.ts'
import { throughputStock } from './scenarios/throughput-stock.ts'

const SCENARIOS: Scenario[] = [latency, throughput, cpuAtRate, throughputStock, crossNode, coldLoad, memory, compaction, isolation, historyLoad, connectStorm, restAuth, restartSync, soak]
const ALL_TARGETS: TargetName[] = ['ours', 'y-websocket', 'y-websocket+leveldb', 'hocuspocus', 'raw-ws']

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    only: { type: 'string' },
    targets: { type: 'string' },
    generators: { type: 'string' },
  },
})

const chosen = PROFILES[values.profile as keyof typeof PROFILES]
if (!chosen) throw new Error(`unknown profile ${values.profile}; use quick or full`)
const profile = values.generators ? { ...chosen, generators: Number(values.generators) } : chosen
if (!(profile.generators >= 1)) throw new Error('--generators must be a number >= 1')
const only = values.only?.split(',')
const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? []
if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}`)
const targets = (values.targets?.split(',') as TargetName[] | undefined) ?? ALL_TARGETS
const log = (message: string): void => void process.stdout.write(`${message}\n`)

const rows: Row[] = []
const started = Date.now()
for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
  log(`\n## ${scenario.figure}. ${scenario.title} (${profile.name} profile)`)
  rows.push(...await scenario.run({ profile, targets, log }))
}
const columns = [...new Set(rows.flatMap((r) => Object.keys(r.values)))]
const named: TargetName[] = ['ours', 'ours-b', ...ALL_TARGETS.slice(1)]
const ordered = [...named.filter((t) => columns.includes(t)), ...columns.filter((c) => !named.includes(c as TargetName))]
log(`\n${table(rows, ordered)}\n`)
log(`results: ${await record(profile.name, rows, !only && !values.targets)} (${((Date.now() - started) / 60_000).toFixed(1)} min)`)
