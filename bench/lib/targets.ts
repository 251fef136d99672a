/**
 * The servers under test, each started as its own process pinned to the server core: our
 * server (any mode), the y-websocket 1.5.4 reference server (in memory, and persisting every
 * update to LevelDB through y-leveldb: the durable peer), Hocuspocus 4, and the raw ws ceiling.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { TargetName, TargetSpec } from './clients.ts'
import { freePort, SERVER_CORE, spawnPinned, stop, waitForHttp } from './proc.ts'
import { productStart } from './product-start.ts'

export const ROOT = path.resolve(import.meta.dirname, '../..')
export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123456789'

export interface RunningTarget {
  spec: TargetSpec
  pid: number
  port: number
  httpBase: string
  /** Room names to use (for our server: real groups' canvas rooms, created on demand). */
  rooms(count: number): Promise<string[]>
  stop(): Promise<void>
}

export interface OursOptions {
  env?: Record<string, string>
  dataDir?: string
  /** Another checkout of this repository to run the server from (with its node_modules). */
  root?: string
}

const PEER_COMMANDS: Record<Exclude<TargetName, 'ours' | 'ours-b'>, string[]> = {
  'y-websocket': [path.join(ROOT, 'node_modules/y-websocket-v154/bin/server.js')],
  'y-websocket+leveldb': [path.join(ROOT, 'node_modules/y-websocket-v154/bin/server.js')],
  hocuspocus: [path.join(ROOT, 'bench/peers/hocuspocus-server.ts')],
  'raw-ws': [path.join(ROOT, 'bench/peers/raw-ws-server.ts')],
}

/** Every server under test can be asked for a full GC (memory figures); see gc-on-signal.ts. */
const SERVER_NODE_ARGS = ['--expose-gc', '--import', path.join(ROOT, 'bench/peers/gc-on-signal.ts')]

/** Runs a full garbage collection in a server under test and lets it settle. */
export async function collectGarbage(pid: number): Promise<void> {
  process.kill(pid, 'SIGUSR2')
  await new Promise((resolve) => setTimeout(resolve, 1_000))
}

/**
 * `ours-b` is our server again, with BENCH_OURS_B_ENV added (e.g. "EXPERIMENT=1") and, with
 * BENCH_OURS_B_ROOT, run from another checkout (`git worktree add /tmp/before HEAD~1`, its
 * node_modules linked): an A/B of one change measured in the same interleaved rounds as `ours`,
 * so the VM's drift between runs cannot decide it. It acts as `ours` in every scenario.
 */
export async function startTarget(name: TargetName, options: OursOptions = {}): Promise<RunningTarget> {
  if (name === 'ours') return startOurs(options)
  if (name === 'ours-b') return startOurs({ ...options, env: { ...options.env, ...envPairs(process.env.BENCH_OURS_B_ENV) }, root: process.env.BENCH_OURS_B_ROOT ?? ROOT })
  return startPeer(name)
}

/** "A=1 B=x=y" -> { A: '1', B: 'x=y' } (values may contain '='). */
function envPairs(text: string | undefined): Record<string, string> {
  const pairs = text?.split(' ').filter((pair) => pair.includes('=')) ?? []
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))
}

async function startPeer(name: Exclude<TargetName, 'ours' | 'ours-b'>): Promise<RunningTarget> {
  const port = await freePort()
  const persistence = name === 'y-websocket+leveldb' ? await mkdtemp(path.join(os.tmpdir(), 'bench-yleveldb-')) : null
  const env: Record<string, string> = { HOST: '127.0.0.1', PORT: String(port), ...(persistence ? { YPERSISTENCE: persistence } : {}) }
  const child = spawnPinned(SERVER_CORE, process.execPath, [...SERVER_NODE_ARGS, ...PEER_COMMANDS[name]], { env })
  const httpBase = `http://127.0.0.1:${port}`
  await waitForHttp(httpBase, child)
  let counter = 0
  return {
    spec: { name, wsBase: `ws://127.0.0.1:${port}` },
    pid: child.pid!,
    port,
    httpBase,
    rooms: async (count) => Array.from({ length: count }, () => `room-${counter++}`),
    stop: async () => {
      await stop(child)
      if (persistence) await rm(persistence, { recursive: true, force: true })
    },
  }
}

export async function startOurs(options: OursOptions = {}): Promise<RunningTarget> {
  const port = await freePort()
  const dataDir = options.dataDir ?? await mkdtemp(path.join(os.tmpdir(), 'bench-ours-'))
  // BENCH_OURS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles our server alone.
  const nodeArgs = process.env.BENCH_OURS_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  // BENCH_OURS_ENV (e.g. "MALLOC_ARENA_MAX=2 EMBEDDED_FSYNC=true") adds settings to our server alone (experiments).
  const extraEnv = envPairs(process.env.BENCH_OURS_ENV)
  const root = options.root ?? ROOT
  const start = productStart(root) // as `npm start` runs it
  // BENCH_OURS_LOG_DIR keeps each of our servers' logs (info level) in a file there, to explain failures.
  const logDir = process.env.BENCH_OURS_LOG_DIR
  const child: ChildProcess = spawnPinned(SERVER_CORE, process.execPath, [...SERVER_NODE_ARGS, ...start.nodeArgs, ...nodeArgs, path.join(root, 'server/main.ts')], {
    cwd: root,
    stdout: Boolean(logDir),
    env: {
      ...start.env,
      NODE_ENV: 'production',
      JWT_SECRET: BENCH_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      MAX_PAYLOAD_BYTES: String(256 * 1024 * 1024),
      AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      ACCESS_TOKEN_TTL_SEC: '86400',
      METRICS_PUBLIC: 'true', // the bench scrapes /metrics (cold-load figures)
      // One bench user on one address opens every socket and creates every room.
      MAX_GROUPS_PER_USER: '100000',
      MAX_CONNECTIONS_PER_ADDRESS: '0',
      // The peers have no write or sync quotas: one bench user uploads many big documents, streams
      // probes and syncs big documents from many sockets at once.
      WRITE_BYTES_PER_MINUTE: String(4096 * 1024 * 1024),
      WRITE_UPDATES_PER_MINUTE: String(10_000_000), // a bench writer sends hundreds of edits a second
      SYNC_BYTES_PER_MINUTE: String(4096 * 1024 * 1024),
      MAX_DOC_BYTES: String(1024 * 1024 * 1024),
      ...(logDir ? { LOG_LEVEL: 'info' } : {}),
      ...options.env,
      ...extraEnv,
    },
  })
  if (logDir) child.stdout?.pipe(createWriteStream(path.join(logDir, `ours-${port}.log`)))
  const httpBase = `http://127.0.0.1:${port}`
  await waitForHttp(`${httpBase}/healthz`, child)
  const token = await benchUser(httpBase)
  return {
    spec: { name: 'ours', wsBase: `ws://127.0.0.1:${port}/collab`, token },
    pid: child.pid!,
    port,
    httpBase,
    rooms: (count) => createRooms(httpBase, token, count),
    stop: async () => {
      await stop(child)
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The user a target knows our clients as: the token's subject for our server, a name for peers. */
export function userOf(spec: TargetSpec): string {
  if (!spec.token) return 'bench'
  const payload = JSON.parse(Buffer.from(spec.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }
  if (typeof payload.sub !== 'string') throw new Error('bench token has no subject')
  return payload.sub
}

/** Registers the bench user (or logs in when a shared store already has it). */
export async function benchUser(httpBase: string): Promise<string> {
  const credentials = { email: 'bench@example.test', password: 'bench password 123', name: 'Bench' }
  const post = (route: string, body: object): Promise<Response> => fetch(`${httpBase}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  let response = await post('/auth/register', credentials)
  if (response.status === 409) response = await post('/auth/login', { email: credentials.email, password: credentials.password })
  if (!response.ok) throw new Error(`bench user: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { accessToken: string }).accessToken
}

export async function createRooms(httpBase: string, token: string, count: number): Promise<string[]> {
  const rooms: string[] = []
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${httpBase}/groups`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: `bench ${i}` }) })
    if (!response.ok) throw new Error(`create group: ${response.status}`)
    rooms.push(((await response.json()) as { rooms: { canvas: string } }).rooms.canvas)
  }
  return rooms
}
