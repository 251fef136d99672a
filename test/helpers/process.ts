/** The real server as a child process (`node server/main.ts`), for crash and multi-node tests. */
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
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

const ROOT = path.resolve(import.meta.dirname, '../..')
const MAIN = path.join(ROOT, 'server/main.ts')

/** Starts `entry` (the TypeScript entry by default; the compiled one as the image runs it). */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000, entry = MAIN): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  createInterface({ input: child.stdout! }).on('line', (line) => logs.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
  const url = `http://127.0.0.1:${port}`
  await waitUntilHealthy(url, exited, logs, timeoutMs)
  return {
    child,
    port,
    logs,
    url,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
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
