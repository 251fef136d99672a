/**
 * Runs a lean load over one or more generator processes, all pinned to the load core (they
 * share it: several processes help only when one event loop, not the core, is the limit). Rooms
 * are dealt out whole, so each room's writers and readers share a process and a clock. Every
 * process gets ready first (frames made, sockets in their rooms), then all start together; the
 * parent reads CPU time of the generators and of the server over the measured window.
 */
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { GENERATOR_CPU_LIMIT } from './generator.ts'
import { LatencyHistogram } from './histogram.ts'
import type { LeanJob, LeanParentMessage, LeanResult, LeanWorkerMessage } from './jobs.ts'
import { cpuSeconds, LOAD_CORE, runQueueWaitSeconds, spawnPinned } from './proc.ts'
import { ROOT } from './targets.ts'

const READY_TIMEOUT_MS = 180_000

export interface LeanRun {
  edits: number
  expectedDeliveries: number
  deliveries: number
  frames: number
  latency: LatencyHistogram
  seconds: number
  closes: string[]
  starved: number
  /** Share of one core the generators used together over the window (0..1). */
  generatorCpu: number
  /** Server CPU seconds over the window. */
  serverCpuSeconds: number
  /**
   * Largest share of the window that the server's or a generator's main thread spent waiting
   * for its core while ready to run: time taken by processes outside the bench.
   */
  disturbed: number
  /** False when the generators passed GENERATOR_CPU_LIMIT: the figure is then theirs. */
  valid: boolean
}

interface Worker {
  child: ChildProcess
  ready: Promise<void>
  result: Promise<LeanResult>
}

export async function runLean(job: LeanJob, processes: number, serverPid: number): Promise<LeanRun> {
  const parts = split(job, processes)
  const workers = parts.map(startWorker)
  try {
    await withTimeout(Promise.all(workers.map((w) => w.ready)), READY_TIMEOUT_MS, 'lean generators did not get ready')
    for (const w of workers) w.child.send({ type: 'go' } satisfies LeanParentMessage)
    await sleep(job.warmupMs)
    const from = sample(workers, serverPid)
    await sleep(job.durationMs)
    const to = sample(workers, serverPid)
    const results = await Promise.all(workers.map((w) => w.result))
    return combine(results, from, to)
  } finally {
    for (const w of workers) w.child.kill()
  }
}

/** Deals whole rooms round-robin over at most `processes` jobs. */
function split(job: LeanJob, processes: number): LeanJob[] {
  const count = Math.max(1, Math.min(processes, job.rooms.length))
  return Array.from({ length: count }, (_, p) => ({ ...job, rooms: job.rooms.filter((_, r) => r % count === p) }))
}

function startWorker(job: LeanJob): Worker {
  const child = spawnPinned(LOAD_CORE, process.execPath, [path.join(ROOT, 'bench/lean-worker.ts')], { ipc: true, cwd: ROOT })
  let readyResolve: () => void = () => {}
  const ready = new Promise<void>((resolve) => { readyResolve = resolve })
  const result = new Promise<LeanResult>((resolve, reject) => {
    child.on('message', (message: LeanWorkerMessage) => {
      if (message.type === 'ready') readyResolve()
      else if (message.type === 'result') resolve(message.result)
      else reject(new Error(message.message))
    })
    child.on('exit', (code) => reject(new Error(`lean generator exited with ${code}`)))
  })
  // A failure before ready must not hang the wait for ready.
  const readyOrFail = Promise.race([ready, result.then(() => undefined)])
  result.catch(() => undefined)
  child.send({ type: 'job', job } satisfies LeanParentMessage)
  return { child, ready: readyOrFail, result }
}

interface Sample {
  at: number
  generators: number
  server: number
  /** Run-queue wait in seconds: the server's, then each generator's. */
  waits: number[]
}

function sample(workers: Worker[], serverPid: number): Sample {
  const generators = workers.reduce((sum, w) => sum + cpuSeconds(w.child.pid!), 0)
  const waits = [serverPid, ...workers.map((w) => w.child.pid!)].map(runQueueWaitSeconds)
  return { at: performance.now(), generators, server: cpuSeconds(serverPid), waits }
}

function combine(results: LeanResult[], from: Sample, to: Sample): LeanRun {
  const latency = new LatencyHistogram()
  for (const r of results) {
    const h = new LatencyHistogram(r.latencyCounts)
    h.max = r.latencyMax
    latency.merge(h)
  }
  const sum = (key: 'edits' | 'expectedDeliveries' | 'deliveries' | 'frames' | 'starved'): number => results.reduce((s, r) => s + r[key], 0)
  const seconds = (to.at - from.at) / 1000
  const generatorCpu = (to.generators - from.generators) / seconds
  const disturbed = Math.max(0, ...to.waits.map((wait, i) => (wait - from.waits[i]!) / seconds).filter(Number.isFinite))
  return {
    edits: sum('edits'),
    expectedDeliveries: sum('expectedDeliveries'),
    deliveries: sum('deliveries'),
    frames: sum('frames'),
    latency,
    seconds: results[0]!.seconds,
    closes: results.flatMap((r) => r.closes),
    starved: sum('starved'),
    generatorCpu,
    serverCpuSeconds: to.server - from.server,
    disturbed,
    valid: generatorCpu <= GENERATOR_CPU_LIMIT,
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
