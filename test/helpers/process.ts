/**
 * The real server as a child process (`node server/main.ts`), for crash and multi-node tests.
 * It runs with `--unhandled-rejections=strict`, and `kill` fails the test if the process ever
 * printed an unhandled rejection or uncaught exception, or exited before it was told to.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from './ports.ts'

export interface ServerProcess {
  child: ChildProcess
  url: string
  collabUrl: string
  port: number
  /** Everything the process logged (pino JSON lines). */
  logs: string[]
  exited: Promise<number | null>
  /** Stops the process; throws if it crashed or printed an unhandled error before. */
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * What Node prints for an unhandled rejection or an uncaught exception: the stack, then its
 * version on a line of its own (Node 24 prints no other marker when the reason is an Error).
 */
const CRASH_LINE = /^Node\.js v\d+\.\d+\.\d+$|UnhandledPromiseRejection|triggerUncaughtException/

/** Fails if `logs` show a crash, or the process exited without being told to. */
export function assertNoCrash(logs: string[], exitedOnItsOwn: boolean): void {
  const crash = logs.findIndex((line) => CRASH_LINE.test(line))
  if (crash >= 0) throw new Error(`server printed an unhandled error:\n${logs.slice(Math.max(0, crash - 5), crash + 20).join('\n')}`)
  if (exitedOnItsOwn) throw new Error(`server exited before it was stopped:\n${logs.slice(-30).join('\n')}`)
}

const ROOT = path.resolve(import.meta.dirname, '../..')
const MAIN = path.join(ROOT, 'server/main.ts')

/**
 * Starts `entry` (the TypeScript entry by default; the compiled one as the image runs it). The
 * start-up bound only catches a node that never comes up: on a machine loaded far past its cores
 * (tests of several files at once, each with its own nodes and FerretDB) 20 s was seen passing.
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 60_000, entry = MAIN): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--unhandled-rejections=strict', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  // 'close', not 'exit': by then every line the process printed has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  createInterface({ input: child.stdout! }).on('line', (line) => logs.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
  const url = `http://127.0.0.1:${port}`
  let told = false
  await waitUntilHealthy(url, exited, logs, timeoutMs)
  return {
    child,
    port,
    logs,
    url,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    exited,
    kill: async (signal = 'SIGTERM') => {
      const running = child.exitCode === null && child.signalCode === null
      if (running) child.kill(signal)
      const code = await exited
      assertNoCrash(logs, !running && !told)
      told = true
      return code
    },
  }
}

async function waitUntilHealthy(url: string, exited: Promise<number | null>, logs: string[], timeoutMs: number): Promise<void> {
  let exitCode: number | null | undefined
  void exited.then((code) => { exitCode = code })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`server exited with ${exitCode}:\n${logs.join('\n')}`)
    const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false)
    if (healthy) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start:\n${logs.join('\n')}`)
}
