/**
 * The log format switch: one readable line per event for a person at a terminal (LOG_FORMAT=pretty,
 * or auto on a terminal — a real pseudo-terminal via util-linux `script`), JSON lines when piped;
 * redaction works the same in both; the last start-up line says which URL to open and which mode
 * runs.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, ConfigError } from '../../server/config.ts'
import { prettyLine } from '../../server/pretty-log.ts'
import { startupLine } from '../../server/startup-line.ts'
import { fetchApi, groupFixture } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { freePort } from '../helpers/ports.ts'
import { spawnServer, type ServerProcess } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/
const ESCAPE = '\u001b['
const READY = 'ready: open '

function parses(line: string): boolean {
  try {
    JSON.parse(line)
    return true
  } catch {
    return false
  }
}

describe('LOG_FORMAT=pretty', () => {
  let server: ServerProcess
  let dir: Awaited<ReturnType<typeof tempDir>>

  beforeAll(async () => {
    dir = await tempDir()
    server = await spawnServer({ DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' })
  }, 30_000)

  afterAll(async () => {
    await server.kill()
    await dir.remove()
  })

  it('writes one readable line per event, with key fields, ending start-up with the URL and mode', async () => {
    const ready = await waitFor(() => server.logs.find((line) => line.includes(READY)), 10_000, 'the start-up line')
    expect(ready).toMatch(new RegExp(`^\\S+ INFO  ready: open http://127\\.0\\.0\\.1:${server.port} in a browser; embedded mode \\(one node, data in ${dir.path}\\) url=http://127\\.0\\.0\\.1:${server.port} mode=embedded$`))
    const startup = server.logs.slice(0, server.logs.indexOf(ready) + 1)
    expect(startup.some((line) => line.includes('Server listening'))).toBe(true)

    const api = fetchApi(server.url)
    const fx = await groupFixture(api, 'Pretty')
    const login = await api<{ accessToken: string; refreshToken: string }>('POST', '/auth/login', { body: { email: fx.owner.email, password: 'correct horse battery' } })
    const client = await connectSynced(server.collabUrl, fx.canvas, { token: login.body.accessToken })
    client.destroy()
    // One line per request, when it completes: method, path, status, time.
    const request = await waitFor(() => server.logs.find((line) => / INFO  POST \/auth\/login 200 [\d.]+ ms /.test(line)), 10_000, 'the login request line')
    expect(request).toMatch(/ reqId=[0-9a-f-]{36}/)
    expect(server.logs.some((line) => line.includes('incoming request') || line.includes('request completed'))).toBe(false)

    for (const line of server.logs) {
      expect(line, line).toMatch(PRETTY)
      expect(line).not.toContain(ESCAPE) // not a terminal: no colours
    }
    const text = server.logs.join('\n')
    for (const secret of [login.body.accessToken, login.body.refreshToken, fx.owner.token, TEST_JWT_SECRET, 'correct horse battery']) {
      expect(text, `log leaks ${secret.slice(0, 12)}…`).not.toContain(secret)
    }
  })
})

describe('LOG_FORMAT=auto', () => {
  it('writes JSON lines when stdout is a pipe; the last start-up line carries url and mode', async () => {
    const dir = await tempDir()
    const server = await spawnServer({ DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET })
    try {
      const ready = await waitFor(() => server.logs.find((line) => line.includes(READY)), 10_000, 'the start-up line')
      expect(JSON.parse(ready)).toMatchObject({ level: 30, url: `http://127.0.0.1:${server.port}`, mode: 'embedded' })
      for (const line of server.logs) expect(parses(line), line).toBe(true)
    } finally {
      await server.kill()
      await dir.remove()
    }
  })

  it.skipIf(!existsSync('/usr/bin/script'))('writes coloured readable lines on a terminal', async () => {
    const dir = await tempDir()
    const port = await freePort()
    const main = path.resolve(import.meta.dirname, '../../server/main.ts')
    // `script` runs the server on a pseudo-terminal and copies what it writes to our pipe.
    const child = spawn('/usr/bin/script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(main)}`, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      await waitFor(() => output.includes(READY), 20_000, 'the start-up line on the terminal')
      const lines = output.split(/\r?\n/).filter((line) => line.length > 0)
      const plain = lines.map((line) => line.replaceAll(/\u001b\[\d+m/g, ''))
      for (const line of plain) expect(line, line).toMatch(PRETTY)
      expect(lines.every((line) => line.includes(`${ESCAPE}32mINFO ${ESCAPE}0m`) || !line.includes('INFO'))).toBe(true)
      expect(plain.find((line) => line.includes(READY))).toContain(`url=http://127.0.0.1:${port} mode=embedded`)
    } finally {
      child.kill('SIGKILL')
      await exited
      await dir.remove()
    }
  })
})

describe('pretty lines', () => {
  it('shows errors on the line with their first stack frame, nested fields dotted, newlines escaped', () => {
    const event = {
      level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, hostname: 'h', msg: 'compaction\nfailed', module: 'collab',
      room: 'g 1/canvas', err: { type: 'MongoError', message: 'down', stack: 'MongoError: down\n    at fold (server/x.ts:1:2)\n    at y' },
      req: { method: 'GET', headers: { a: 1 } }, ok: true,
    }
    const line = prettyLine(JSON.stringify(event))
    expect(line).toMatch(/^\d\d:\d\d:05\.006 ERROR compaction failed module=collab room="g 1\/canvas" err="MongoError: down \(at fold \(server\/x\.ts:1:2\)\)" req\.method=GET req\.headers=\{"a":1\} ok=true$/)
    expect(line).not.toContain('pid=')
    expect(prettyLine('not json')).toBe('not json')
  })

  it('LOG_FORMAT accepts only auto, pretty and json', () => {
    expect(loadConfig({}).logFormat).toBe('auto')
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json')
    expect(() => loadConfig({ LOG_FORMAT: 'fancy' })).toThrow(ConfigError)
  })

  it('the start-up line names each mode and a URL a browser can open', () => {
    const address = { address: '0.0.0.0', family: 'IPv4', port: 8080 }
    const base = { host: '0.0.0.0', dataDir: '/srv/data', mongodbUrl: undefined, redisUrl: undefined, redisClusterNodes: undefined }
    expect(startupLine(base, address)).toEqual({ url: 'http://localhost:8080', mode: 'embedded', msg: 'ready: open http://localhost:8080 in a browser; embedded mode (one node, data in /srv/data)' })
    expect(startupLine({ ...base, mongodbUrl: 'mongodb://m' }, address).msg).toBe('ready: open http://localhost:8080 in a browser; MongoDB mode (one node)')
    expect(startupLine({ ...base, mongodbUrl: 'mongodb://m', redisUrl: 'redis://r' }, address).mode).toBe('cluster')
    expect(startupLine({ ...base, mongodbUrl: 'mongodb://m', redisClusterNodes: ['redis://r:7000'] }, address).msg).toBe('ready: open http://localhost:8080 in a browser; cluster mode (MongoDB + a Redis Cluster; more nodes may join on the same stores)')
    expect(startupLine({ ...base, host: '::1' }, address).url).toBe('http://[::1]:8080')
  })
})
