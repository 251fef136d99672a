/**
 * Runs a job in a load-generator process pinned to its own core, measuring its CPU share (and
 * the server's) over the job's measured window. A generator above 80% of its core marks the
 * run invalid: the figure would then measure the generator, not the server.
 */
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Job, ParentMessage, WorkerMessage } from './jobs.ts'
import { cpuSeconds, LOAD_CORE, spawnPinned } from './proc.ts'
import { ROOT } from './targets.ts'

export const GENERATOR_CPU_LIMIT = 0.8

export interface JobRun<T> {
  result: T
  /** CPU share of one core over the measured window (or the whole job without one). */
  generatorCpu: number
  serverCpu: number
  valid: boolean
}

export interface RunningJob<T> {
  pid: number
  /** Resolves when the worker reports the phase. */
  phase(name: 'connected'): Promise<void>
  stop(): void
  done: Promise<JobRun<T>>
}

export function startJob<T>(job: Job, serverPid: number): RunningJob<T> {
  const child: ChildProcess = spawnPinned(LOAD_CORE, process.execPath, [path.join(ROOT, 'bench/worker.ts')], { ipc: true, cwd: ROOT })
  const waiters = new Map<string, () => void>()
  const seen = new Set<string>()
  let window = sample(child.pid!, serverPid)
  let measured: { generator: number; server: number } | null = null
  const done = new Promise<JobRun<T>>((resolve, reject) => {
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'phase') {
        seen.add(message.name)
        if (message.name === 'measure-start') window = sample(child.pid!, serverPid)
        if (message.name === 'measure-end') measured = shares(window, sample(child.pid!, serverPid))
        waiters.get(message.name)?.()
      } else if (message.type === 'result') {
        const cpu = measured ?? shares(window, sample(child.pid!, serverPid))
        resolve({ result: message.result as T, generatorCpu: cpu.generator, serverCpu: cpu.server, valid: cpu.generator <= GENERATOR_CPU_LIMIT })
        child.kill()
      } else {
        reject(new Error(message.message))
        child.kill()
      }
    })
    child.on('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
  })
  child.send({ type: 'job', job } satisfies ParentMessage)
  return {
    pid: child.pid!,
    phase: (name) => seen.has(name) ? Promise.resolve() : new Promise((resolve) => waiters.set(name, resolve)),
    stop: () => void child.send({ type: 'stop' } satisfies ParentMessage),
    done,
  }
}

export function runJob<T>(job: Job, serverPid: number): Promise<JobRun<T>> {
  return startJob<T>(job, serverPid).done
}

interface Sample {
  at: number
  generator: number
  server: number
}

function sample(generatorPid: number, serverPid: number): Sample {
  return { at: performance.now(), generator: cpuSeconds(generatorPid), server: cpuSeconds(serverPid) }
}

function shares(from: Sample, to: Sample): { generator: number; server: number } {
  const seconds = (to.at - from.at) / 1000
  return { generator: (to.generator - from.generator) / seconds, server: (to.server - from.server) / seconds }
}
