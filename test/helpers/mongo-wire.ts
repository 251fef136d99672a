/**
 * A MongoDB-wire server for tests, started here rather than assumed: `mongod` when it is on
 * PATH, otherwise FerretDB v1.24 (MongoDB wire protocol over SQLite; `.ci/run` builds it). Each
 * instance has its own port and data directory and can be stopped and started again on the same
 * port and data (for fault tests). FerretDB specifics stay in this file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForPort } from './ports.ts'

export interface MongoWire {
  url: string
  kind: 'mongod' | 'ferretdb'
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

function ferretBinary(): string {
  const candidates = [process.env.FERRETDB_BIN, onPath('ferretdb') ? 'ferretdb' : undefined, path.join(os.homedir(), 'go/bin/ferretdb')]
  const found = candidates.find((c) => c !== undefined && (c === 'ferretdb' || existsSync(c)))
  if (!found) throw new Error('no MongoDB-wire server: install mongod, set MONGODB_URL, or build FerretDB v1.24 (see .ci/run)')
  return found
}

function command(kind: MongoWire['kind'], dir: string, port: number): [string, string[]] {
  if (kind === 'mongod') return ['mongod', ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet']]
  return [ferretBinary(), [
    '--handler=sqlite', `--sqlite-url=file:${dir}/`, `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=127.0.0.1:0', `--state-dir=${dir}`, '--telemetry=disable', '--log-level=error',
  ]]
}

export async function startMongoWire(): Promise<MongoWire> {
  const kind: MongoWire['kind'] = onPath('mongod') ? 'mongod' : 'ferretdb'
  const dir = await mkdtemp(path.join(os.tmpdir(), `mongo-wire-${kind}-`))
  await mkdir(dir, { recursive: true })
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const [bin, args] = command(kind, dir, port)
    child = spawn(bin, args, { stdio: 'ignore' })
    await waitForPort(port, 30_000)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    kind,
    start,
    stop,
    destroy: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
