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
 * between them; each node's RSS is read, and the row shows the worse of the two.
 */
import { randomBytes } from 'node:crypto'
import { mongoEnv, startInfra } from '../lib/infra.ts'
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

async function soakOne(ctx: ScenarioContext, name: TargetName): Promise<Soak> {
  const target = await startTarget(name)
  try {
    return (await churn(ctx, name, [target], await target.rooms(ROOMS)))[0]!
  } finally {
    await target.stop()
  }
}

/** Two of our nodes on one Redis and one MongoDB-wire server, sharing the rooms. */
async function soakTwoNodes(ctx: ScenarioContext): Promise<Soak[]> {
  const infra = await startInfra()
  const env = { ...mongoEnv(infra, `bench_${randomBytes(4).toString('hex')}`), REDIS_URL: infra.redisUrl }
  const nodes: RunningTarget[] = []
  try {
    nodes.push(await startOurs({ env }), await startOurs({ env }))
    return await churn(ctx, 'ours, 2 nodes', nodes, await nodes[0]!.rooms(ROOMS))
  } finally {
    for (const node of nodes) await node.stop()
    await infra.stop()
  }
}

/** Churns `rooms` through every target at once (the sessions split evenly); each target's RSS. */
async function churn(ctx: ScenarioContext, label: string, targets: RunningTarget[], rooms: string[]): Promise<Soak[]> {
  await sleep(3_000)
  for (const target of targets) await collectGarbage(target.pid)
  const soaks: Soak[] = targets.map((target) => ({ idleStart: rssBytes(target.pid), byMinute: [], idleAfter: 0 }))
  const jobs = targets.map((target) => startJob<ChurnResult>({ kind: 'churn', target: target.spec, rooms, sessionsPerSecond: SESSIONS_PER_SECOND / targets.length, sessionMs: SESSION_MS, durationMs: ctx.profile.soakMinutes * MINUTE } satisfies ChurnJob, target.pid))
  for (let minute = 1; minute <= ctx.profile.soakMinutes; minute++) {
    await sleep(MINUTE)
    for (const [i, target] of targets.entries()) {
      soaks[i]!.byMinute.push(rssBytes(target.pid))
      ctx.log(`  ${label}${targets.length > 1 ? ` node ${i + 1}` : ''} minute ${minute}: RSS ${mib(soaks[i]!.byMinute.at(-1)!)} MiB${await threadHeaps(target)}`)
    }
  }
  for (const job of jobs) {
    const { result } = await job.done
    if (result.failures > 0) ctx.log(`  ${label}: ${result.failures} of ${result.sessions + result.failures} sessions failed`)
  }
  for (const [i, target] of targets.entries()) {
    await roomsEvicted(target)
    await collectGarbage(target.pid)
    soaks[i]!.idleAfter = rssBytes(target.pid)
    ctx.log(`  ${label}${targets.length > 1 ? ` node ${i + 1}` : ''}: idle ${mib(soaks[i]!.idleStart)} MiB before, ${mib(soaks[i]!.idleAfter)} MiB after the rooms went${await threadHeaps(target)}`)
  }
  return soaks
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
    const record = (label: string, soaks: Soak[]): void => {
      growth.values[label] = Math.max(...soaks.map(growthOf))
      back.values[label] = Math.max(...soaks.map((s) => s.idleAfter / s.idleStart))
      peak.values[label] = Math.max(...soaks.map((s) => s.byMinute.at(-1)!))
    }
    for (const name of ctx.targets.filter((t) => CAN_CHURN.includes(t))) record(name, [await soakOne(ctx, name)])
    if (ctx.targets.includes('ours')) record('ours, 2 nodes', await soakTwoNodes(ctx))
    return [growth, back, peak]
  },
}
