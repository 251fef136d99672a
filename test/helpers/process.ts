/** The real server as a child process (`node server/main.ts`), for crash and multi-node tests. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'

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

const MAIN = path.resolve(import.meta.dirname, '../../server/main.ts')

export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('\n')}`)), timeoutMs)
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line)
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
  })
  return {
    child,
    port,
    logs,
    url: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
