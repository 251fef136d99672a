/**
 * Child processes pinned to a core (taskset), with CPU time and RSS read from /proc, so the
 * harness can tell a saturated load generator (invalid run) from a saturated server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

const HAS_TASKSET = spawnSync('sh', ['-c', 'command -v taskset']).status === 0
const CORES = Number(spawnSync('nproc').stdout?.toString().trim() || '1')
const TICKS_PER_SECOND = 100

/** Core for servers and for load generators; both 0 on a single-core machine. */
export const SERVER_CORE = 0
export const LOAD_CORE = CORES > 1 ? 1 : 0

export function spawnPinned(core: number, command: string, args: string[], options: { env?: Record<string, string>; ipc?: boolean; cwd?: string; stdout?: boolean } = {}): ChildProcess {
  const [bin, argv] = HAS_TASKSET ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]
  return spawn(bin, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', options.stdout ? 'pipe' : 'ignore', 'inherit'],
  })
}

/** CPU seconds (user + system) a process has used; taskset execs the target, so its pid is the target's. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

/**
 * Seconds the process's main thread was ready to run but waited for its core (other processes
 * on it): the sign that a measurement was disturbed from outside. NaN where schedstat is missing.
 */
export function runQueueWaitSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9
  } catch {
    return Number.NaN
  }
}

export function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
    return Number(line?.split(/\s+/)[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** Measures a process's CPU share (0..1 of one core) over a callback. */
export async function cpuShare<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const result = await work()
  const seconds = (performance.now() - t0) / 1000
  return { result, cpu: (cpuSeconds(pid) - cpu0) / seconds }
}

export { freePort } from '../../test/helpers/ports.ts'

export async function waitForHttp(url: string, child?: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before answering ${url}`)
    if (await fetch(url).then(() => true, () => false)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`)
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
  })
}
