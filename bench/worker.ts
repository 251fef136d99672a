/**
 * A load-generator process. It takes one job over IPC, runs it with real clients (writers and
 * readers in this one process, so latencies use one clock) and reports back. The parent pins it
 * to its own core and watches its CPU.
 */
import * as Y from 'yjs'
import { openClient, type BenchClient } from './lib/clients.ts'
import { canvasOfSize } from './lib/fixtures.ts'
import { userOf } from './lib/targets.ts'
import type { ChurnJob, ChurnResult, ConnectJob, ConnectResult, HttpJob, HttpResult, Job, LatencyJob, LatencyResult, ParentMessage, RawSyncJob, RawSyncResult, UploadJob, UploadResult, WorkerMessage } from './lib/jobs.ts'
import { rawSync } from './lib/raw-sync.ts'

process.setMaxListeners(0) // every WebsocketProvider adds an exit listener

const send = (message: WorkerMessage): void => void process.send?.(message)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
let stopRequested: () => void = () => {}
const stopped = new Promise<void>((resolve) => { stopRequested = resolve })

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') stopRequested()
  else run(message.job).then((result) => send({ type: 'result', result }), (error: unknown) => send({ type: 'error', message: String((error as Error)?.stack ?? error) }))
})

function run(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'latency': return latency(job)
    case 'connect': return connect(job)
    case 'upload': return upload(job)
    case 'raw-sync': return rawSyncs(job)
    case 'http': return http(job)
    case 'churn': return churn(job)
  }
}

/** Starts sessions at the job's pace until its time is up, then waits for the open ones to end. */
async function churn(job: ChurnJob): Promise<ChurnResult> {
  const result: ChurnResult = { sessions: 0, failures: 0, reasons: {} }
  const open = new Set<Promise<void>>()
  const started = performance.now()
  for (let n = 0; performance.now() - started < job.durationMs; n++) {
    const due = started + (n * 1000) / job.sessionsPerSecond
    if (due > performance.now()) await sleep(due - performance.now())
    const session = churnSession(job, job.rooms[n % job.rooms.length]!, n).then(() => void result.sessions++, (error: unknown) => {
      result.failures++
      const reason = String((error as Error)?.message ?? error)
      result.reasons[reason] = (result.reasons[reason] ?? 0) + 1
    })
    open.add(session)
    void session.finally(() => open.delete(session))
  }
  await Promise.all(open)
  return result
}

async function churnSession(job: ChurnJob, room: string, n: number): Promise<void> {
  const client = openClient(job.target, room)
  try {
    await Promise.race([client.synced, sleep(30_000).then(() => { throw new Error(noSyncReason(client)) })])
    for (let i = 0; i < 1 + (n % 3); i++) client.write(performance.now() + i, i)
    client.present?.({ user: { name: `session ${n}` }, cursor: { x: n % 500, y: (n * 7) % 500 } })
    await sleep(job.sessionMs)
  } finally {
    client.destroy()
  }
}

function noSyncReason(client: BenchClient): string {
  const codes = client.closeCodes ?? []
  const counts = new Map<number, number>()
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1)
  const closes = [...counts].map(([code, count]) => `${code} x${count}`).join(', ')
  return `no sync in 30 s${closes ? `, closed ${closes}` : ''}`
}

async function openAll(clients: BenchClient[], timeoutMs = 120_000): Promise<void> {
  const timeout = sleep(timeoutMs).then(() => { throw new Error('clients did not sync in time') })
  await Promise.race([Promise.all(clients.map((c) => c.synced)), timeout])
}

async function latency(job: LatencyJob): Promise<LatencyResult> {
  const writers: BenchClient[] = []
  const groups: BenchClient[][] = job.readers.map(() => [])
  for (const room of job.rooms) {
    for (let i = 0; i < job.writersPerRoom; i++) writers.push(openClient(job.writerTarget, room))
    job.readers.forEach((group, g) => {
      for (let i = 0; i < group.perRoom; i++) groups[g]!.push(openClient(group.target, room))
    })
  }
  const readers = groups.flat()
  await openAll([...writers, ...readers])
  const window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY }
  const samples: number[][] = groups.map(() => [])
  groups.forEach((group, g) => {
    for (const reader of group) {
      reader.onProbe((t) => {
        if (t >= window.start && t < window.end) samples[g]!.push(performance.now() - t)
      })
    }
  })
  let edits = 0
  const writing = drive(writers, job.rate * writers.length, job.warmupMs + job.durationMs, (t) => {
    if (t >= window.start && t < window.end) edits++
  })
  await sleep(job.warmupMs)
  send({ type: 'phase', name: 'measure-start' })
  window.start = performance.now()
  const meanwhileMs: number[] = []
  const meanwhile = job.meanwhile ? runMeanwhile(job, job.meanwhile, window, meanwhileMs) : Promise.resolve()
  await sleep(job.durationMs)
  window.end = performance.now()
  await meanwhile
  send({ type: 'phase', name: 'measure-end' })
  await writing
  await sleep(1_000) // deliveries in flight
  for (const client of [...writers, ...readers]) client.destroy()
  const readersPerRoom = job.readers.reduce((sum, g) => sum + g.perRoom, 0)
  return { samples, edits, expectedDeliveries: edits * readersPerRoom, seconds: (window.end - window.start) / 1000, meanwhileMs }
}

/** Sync loops against another room while the window is open (or `count` syncs each). */
async function runMeanwhile(job: LatencyJob, task: NonNullable<LatencyJob['meanwhile']>, window: { end: number }, times: number[]): Promise<void> {
  await Promise.all(Array.from({ length: task.parallel }, async () => {
    for (let i = 0; task.count === undefined ? performance.now() < window.end : i < task.count; i++) {
      if (task.pauseMs) await sleep(task.pauseMs)
      const started = performance.now()
      times.push((await rawSync(job.writerTarget, task.room, task.stateVector && new Uint8Array(task.stateVector))).step2Ms)
      if (task.everyMs) await sleep(Math.max(0, started + task.everyMs - performance.now()))
    }
  }))
}

/** Spreads `perSecond` edits over the writers, catching up on timer drift, for `ms`. */
async function drive(writers: BenchClient[], perSecond: number, ms: number, counted: (t: number) => void): Promise<void> {
  const started = performance.now()
  let done = 0
  let next = 0
  while (performance.now() - started < ms) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond)
    for (; done < due; done++) {
      const t = performance.now()
      const writer = writers[next++ % writers.length] as BenchClient
      writer.write(t, next)
      counted(t)
    }
    await sleep(1)
  }
}

async function connect(job: ConnectJob): Promise<ConnectResult> {
  const times: number[] = []
  let failures = 0
  const clients: BenchClient[] = []
  await Promise.all(job.rooms.flatMap((room, r) => Array.from({ length: job.perRoom }, async (_, i) => {
    const doc = job.docBytes ? canvasOfSize(job.docBytes, 1 + r * job.perRoom + i, userOf(job.target)) : new Y.Doc()
    const started = performance.now()
    const client = openClient(job.target, room, doc)
    clients.push(client)
    try {
      await Promise.race([client.synced, sleep(60_000).then(() => { throw new Error('timeout') })])
      times.push(performance.now() - started)
    } catch {
      failures++
    }
  })))
  if (job.hold) {
    send({ type: 'phase', name: 'connected' })
    await stopped
  }
  for (const client of clients) client.destroy()
  return { times, failures }
}

async function upload(job: UploadJob): Promise<UploadResult> {
  const doc = canvasOfSize(job.bytes, 1, userOf(job.target))
  const expected = Y.encodeStateVector(doc)
  const writer = openClient(job.target, job.room, doc)
  await writer.synced
  const checker = openClient(job.target, job.room)
  await checker.synced
  // The server has it once a fresh client receives the same state.
  while (Buffer.compare(Buffer.from(Y.encodeStateVector(checker.doc as Y.Doc)), Buffer.from(expected)) !== 0) await sleep(50)
  const bytes = Y.encodeStateAsUpdate(doc).length
  writer.destroy()
  checker.destroy()
  return { bytes }
}

async function rawSyncs(job: RawSyncJob): Promise<RawSyncResult> {
  const result: RawSyncResult = { firstFrameMs: [], step2Ms: [], failures: 0 }
  for (const room of job.rooms) {
    for (let i = 0; i < job.repeat; i++) {
      try {
        const sync = await rawSync(job.target, room)
        result.firstFrameMs.push(sync.firstFrameMs)
        result.step2Ms.push(sync.step2Ms)
      } catch {
        result.failures++
      }
      if (job.pauseMs) await sleep(job.pauseMs)
    }
  }
  return result
}

async function http(job: HttpJob): Promise<HttpResult> {
  const result: HttpResult = { times: job.paths.map(() => []), failures: 0 }
  for (let i = 0; i < job.repeat; i++) {
    for (const [index, path] of job.paths.entries()) {
      const started = performance.now()
      const response = await fetch(`${job.base}${path}`, { headers: { authorization: `Bearer ${job.token}` } })
      await response.arrayBuffer()
      if (response.ok) result.times[index]!.push(performance.now() - started)
      else result.failures++
    }
  }
  return result
}
