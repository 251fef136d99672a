/**
 * Figure 10: memory under churn. Sessions come and go over 150 small rooms (about 24 a second,
 * each a stock client that syncs, draws one to three points, sets its presence, stays a second
 * and closes) for `soakMinutes`; the server's RSS is read every minute (and for ours, each
 * thread's JS heap from /metrics). Then the churn stops, the rooms are evicted, the server
 * collects garbage, and RSS is read again. Goals: flat after the first minutes (growth < 5% over
 * the last two thirds of the run) and back within 20% of the idle start.
 *
 * Ours runs a second time as two nodes on Redis and MongoDB (column "ours, 2 nodes"): each node
 * gets half the sessions over the same rooms, so every room is hot on both and its edits cross
 * between them; each node's RSS is read, and the row shows the worse of the two. Every column
 * churns at the same time (see `churnSideBySide`).
 */
import { randomBytes } from 'node:crypto'
import { mongoEnv, startInfra, type Infra } from '../lib/infra.ts'
import type { TargetName } from '../lib/clients.ts'
import { startJob } from '../lib/generator.ts'
import type { ChurnJob, ChurnResult } from '../lib/jobs.ts'
import { scrapeMetric } from '../lib/metrics-scrape.ts'
import { rssBytes } from '../lib/proc.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { collectGarbage, startOurs, startTarget, type RunningTarget } from '../lib/targets.ts'

const ROOMS = 150
const SESSIONS_PER_SECOND = 24
const SESSION_MS = 1_000
const MINUTE = 60_000
/** Peers that speak Yjs with presence (the raw ceiling does not). */
const CAN_CHURN: TargetName[] = ['ours', 'y-websocket', 'y-websocket+leveldb', 'hocuspocus']
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0)

interface Soak {
  idleStart: number
  byMinute: number[]
  idleAfter: number
}

async function threadHeaps(target: RunningTarget): Promise<string> {
  if (target.spec.name !== 'ours') return ''
  const text = await (await fetch(`${target.httpBase}/metrics`)).text()
  const heaps = [...text.matchAll(/^process_thread_heap_used_bytes\{thread="([^"]+)"\} (\d+)/gm)].map((m) => `${m[1]} ${mib(Number(m[2]))}`)
  // The main heap's committed size beside its use: pages V8 keeps after a peak count in RSS.
  const committed = /^nodejs_heap_size_total_bytes (\d+)/m.exec(text)?.[1]
  return heaps.length > 0 ? ` (heaps MiB: ${heaps.join(', ')}${committed ? `; main committed ${mib(Number(committed))}` : ''})` : ''
}

/** Ours: until no room is loaded; peers drop a document with its last client. */
async function roomsEvicted(target: RunningTarget): Promise<void> {
  if (target.spec.name !== 'ours') return sleep(15_000)
  const deadline = Date.now() + 5 * MINUTE
  while (Date.now() < deadline && await scrapeMetric(target.httpBase, 'collab_rooms_loaded') !== 0) await sleep(1_000)
  await sleep(15_000) // as measured in the issue: 15 s after the last room went
}

/** One column of the figure: one server, or two of our nodes sharing the rooms. */
interface Column {
  label: string
  targets: RunningTarget[]
  rooms: string[]
  soaks: Soak[]
  /** Sessions started and those that did not sync within 30 s, over the column's nodes. */
  sessions: { started: number; failed: number }
}

async function singleColumn(name: TargetName): Promise<Column> {
  const target = await startTarget(name)
  return { label: name, targets: [target], rooms: await target.rooms(ROOMS), soaks: [], sessions: { started: 0, failed: 0 } }
}

/** Two of our nodes on one Redis and one MongoDB-wire server, sharing the rooms. */
async function twoNodeColumn(infra: Infra): Promise<Column> {
  const env = { ...mongoEnv(infra, `bench_${randomBytes(4).toString('hex')}`), REDIS_URL: infra.redisUrl }
  const nodes = [await startOurs({ env }), await startOurs({ env })]
  return { label: 'ours, 2 nodes', targets: nodes, rooms: await nodes[0]!.rooms(ROOMS), soaks: [], sessions: { started: 0, failed: 0 } }
}

const nodeLabel = (column: Column, i: number): string => `${column.label}${column.targets.length > 1 ? ` node ${i + 1}` : ''}`

/**
 * Churns every column at once, side by side in one window (servers on the server core, one load
 * generator per server on the load core): a 30-minute soak of five configurations takes 30
 * minutes, not 150, and every column sees the same machine at the same time. Each column gets
 * the full session rate, split evenly over its nodes.
 */
async function churnSideBySide(ctx: ScenarioContext, columns: Column[]): Promise<void> {
  await sleep(3_000)
  const nodes = columns.flatMap((column) => column.targets.map((target, i) => ({ column, target, i })))
  for (const { target } of nodes) await collectGarbage(target.pid)
  for (const column of columns) column.soaks = column.targets.map((target) => ({ idleStart: rssBytes(target.pid), byMinute: [], idleAfter: 0 }))
  const durationMs = ctx.profile.soakMinutes * MINUTE
  const jobs = nodes.map(({ column, target }) => ({ column, job: startJob<ChurnResult>({ kind: 'churn', target: target.spec, rooms: column.rooms, sessionsPerSecond: SESSIONS_PER_SECOND / column.targets.length, sessionMs: SESSION_MS, durationMs } satisfies ChurnJob, target.pid) }))
  for (let minute = 1; minute <= ctx.profile.soakMinutes; minute++) {
    await sleep(MINUTE)
    for (const { column, target, i } of nodes) {
      column.soaks[i]!.byMinute.push(rssBytes(target.pid))
      ctx.log(`  ${nodeLabel(column, i)} minute ${minute}: RSS ${mib(column.soaks[i]!.byMinute.at(-1)!)} MiB${await threadHeaps(target)}`)
    }
  }
  for (const { column, job } of jobs) {
    const { result } = await job.done
    column.sessions.started += result.sessions + result.failures
    column.sessions.failed += result.failures
    if (result.failures > 0) ctx.log(`  ${column.label}: ${result.failures} of ${result.sessions + result.failures} sessions failed (${Object.entries(result.reasons).map(([reason, count]) => `${count}: ${reason}`).join('; ')})`)
  }
  for (const { column, target, i } of nodes) {
    await roomsEvicted(target)
    await collectGarbage(target.pid)
    column.soaks[i]!.idleAfter = rssBytes(target.pid)
    ctx.log(`  ${nodeLabel(column, i)}: idle ${mib(column.soaks[i]!.idleStart)} MiB before, ${mib(column.soaks[i]!.idleAfter)} MiB after the rooms went${await threadHeaps(target)}`)
  }
}

/** RSS growth over the last two thirds of the churn, in percent. */
function growthOf(soak: Soak): number {
  const from = soak.byMinute[Math.floor(soak.byMinute.length / 3)] ?? soak.byMinute[0]!
  return (soak.byMinute.at(-1)! / from - 1) * 100
}

export const soak: Scenario = {
  id: 'soak',
  figure: 10,
  title: `Memory under churn (${SESSIONS_PER_SECOND} sessions/s over ${ROOMS} rooms)`,
  async run(ctx) {
    const growth: Row = { figure: 10, metric: `RSS growth over the last two thirds of ${ctx.profile.soakMinutes} minutes of churn (goal < 5%)`, unit: '%', lowerIsBetter: true, values: {} }
    const back: Row = { figure: 10, metric: 'idle RSS once the rooms are evicted, x the idle start (goal <= 1.2x)', unit: 'x', lowerIsBetter: true, values: {} }
    const peak: Row = { figure: 10, metric: 'RSS at the end of the churn', unit: 'bytes', lowerIsBetter: true, values: {} }
    const failed: Row = { figure: 10, metric: 'sessions that did not sync within 30 s', unit: '%', lowerIsBetter: true, values: {} }
    const record = (label: string, soaks: Soak[]): void => {
      growth.values[label] = Math.max(...soaks.map(growthOf))
      back.values[label] = Math.max(...soaks.map((s) => s.idleAfter / s.idleStart))
      peak.values[label] = Math.max(...soaks.map((s) => s.byMinute.at(-1)!))
    }
    const columns: Column[] = []
    let infra: Infra | null = null
    try {
      for (const name of ctx.targets.filter((t) => CAN_CHURN.includes(t))) columns.push(await singleColumn(name))
      if (ctx.targets.includes('ours')) {
        infra = await startInfra()
        columns.push(await twoNodeColumn(infra))
      }
      await churnSideBySide(ctx, columns)
      for (const column of columns) {
        record(column.label, column.soaks)
        failed.values[column.label] = (column.sessions.failed / Math.max(1, column.sessions.started)) * 100
      }
    } finally {
      for (const target of columns.flatMap((column) => column.targets)) await target.stop()
      await infra?.stop()
    }
    return [growth, back, peak, failed]
  },
}
