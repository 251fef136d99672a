/**
 * Where an idle node's memory goes after a burst: our server (started as `npm start` runs it)
 * takes figure 10's churn (24 sessions a second over 150 rooms) for CHURN_MINUTES (default 1),
 * then waits until every room has left memory, 15 s more, and a full collection. Prints RSS
 * every minute of the churn, before and after it, the mappings that grew most (glibc's main heap,
 * its other arenas, V8's pages), the growth by kind of mapping, and the main thread's heap
 * spaces. Settings to try go in BENCH_OURS_ENV and
 * BENCH_OURS_NODE_ARGS (bench/lib/targets.ts).
 *
 *   node bench/probes/idle-after-churn.ts
 */
import { readFileSync } from 'node:fs'
import { startJob } from '../lib/generator.ts'
import type { ChurnJob, ChurnResult } from '../lib/jobs.ts'
import { scrapeMetric } from '../lib/metrics-scrape.ts'
import { rssBytes } from '../lib/proc.ts'
import { collectGarbage, startOurs } from '../lib/targets.ts'

const MINUTES = Number(process.env.CHURN_MINUTES ?? 1)
const mib = (kib: number): string => (kib / 1024).toFixed(1)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resident KiB by mapping: its file, `[heap]`, or an anonymous range named by its size and start. */
function residentByMapping(pid: number): Map<string, number> {
  const resident = new Map<string, number>()
  let name = ''
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) {
      name = head[3] || `[anon ${((parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1048576).toFixed(0)} MiB at ${head[1]}]`
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) resident.set(name, (resident.get(name) ?? 0) + Number(rss[1]))
  }
  return resident
}

/** What a mapping is: anonymous memory (malloc, V8), glibc's main heap, LevelDB's tables, or another file. */
function mappingClass(name: string): string {
  if (name.startsWith('[anon')) return 'anonymous'
  if (name === '[heap]') return '[heap]'
  if (name.endsWith('.ldb')) return 'LevelDB tables'
  return name.startsWith('/') ? 'other files' : 'other'
}

const target = await startOurs()
try {
  const rooms = await target.rooms(150)
  await sleep(3_000)
  await collectGarbage(target.pid)
  const before = residentByMapping(target.pid)
  const rssBefore = rssBytes(target.pid)
  const job = startJob<ChurnResult>({ kind: 'churn', target: target.spec, rooms, sessionsPerSecond: 24, sessionMs: 1_000, durationMs: MINUTES * 60_000 } satisfies ChurnJob, target.pid)
  const minutes = setInterval(() => console.log(`  churn: RSS ${(rssBytes(target.pid) / 1048576).toFixed(0)} MiB`), 60_000)
  const { result } = await job.done
  clearInterval(minutes)
  while (await scrapeMetric(target.httpBase, 'collab_rooms_loaded') !== 0) await sleep(1_000)
  await sleep(15_000)
  await collectGarbage(target.pid)
  const rssAfter = rssBytes(target.pid)
  console.log(`${result.sessions} sessions (${result.failures} failed); RSS ${(rssBefore / 1048576).toFixed(0)} MiB idle before, ${(rssAfter / 1048576).toFixed(0)} MiB idle after (${(rssAfter / rssBefore).toFixed(2)}x)`)
  const grown = [...residentByMapping(target.pid)].map(([name, kib]) => [name, kib - (before.get(name) ?? 0)] as const).sort((a, b) => b[1] - a[1])
  for (const [name, kib] of grown.slice(0, 6)) console.log(`  +${mib(kib)} MiB ${name}`)
  // Many small mappings can add up where no single one stands out (an allocator's extents, LevelDB's tables).
  const byClass = new Map<string, number>()
  for (const [name, kib] of grown) byClass.set(mappingClass(name), (byClass.get(mappingClass(name)) ?? 0) + kib)
  console.log(`  by kind: ${[...byClass].map(([kind, kib]) => `${kind} ${kib >= 0 ? '+' : ''}${mib(kib)} MiB`).join(', ')}`)
  const metrics = await (await fetch(`${target.httpBase}/metrics`)).text()
  console.log(metrics.split('\n').filter((line) => /^(process_thread_heap_used_bytes|nodejs_heap_space_size_total_bytes\{space="(new|old|code)"\})/.test(line)).join('\n'))
} finally {
  await target.stop()
}
