/**
 * A private redis-server on a free port with its own directory (never the machine's shared
 * one), configured as the README tells operators to: AOF on, fsync always, no eviction of keys.
 * It can be stopped (SIGKILL or SIGTERM) and started again on the same port and data; with
 * `persistent: false` (no AOF, no RDB) it comes back empty, as a Redis run without persistence does.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForPort } from './ports.ts'

export interface RedisServer {
  url: string
  port: number
  stop(signal?: NodeJS.Signals): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

export async function startRedis(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const persistence = options.persistent === false
    ? ['--appendonly', 'no']
    : ['--appendonly', 'yes', '--appendfsync', 'always']
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-test-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      ...persistence, '--maxmemory-policy', 'noeviction',
    ], { stdio: 'ignore' })
    await waitForPort(port, 10_000)
  }
  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill(signal)
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    destroy: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
