/**
 * No Docker engine runs here, so the deployment files are checked for what can be checked: the
 * compose file parses and wires what the README promises, the balancer passes WebSocket
 * upgrades, .env.example lists every setting, the Dockerfile's commands exist, and the compiled
 * output starts and serves clients when run with Node the way the image runs it.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { SETTINGS } from '../../server/config.ts'
import { fetchApi, groupFixture } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { spawnServer } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const root = path.resolve(import.meta.dirname, '../..')
const read = (file: string): Promise<string> => readFile(path.join(root, file), 'utf8')

interface Compose {
  services: Record<string, { image?: string; build?: string; command?: string[]; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; healthcheck?: unknown }>
}

describe('docker-compose.yml', () => {
  it('runs MongoDB 7, Redis 7 with AOF and no eviction, two nodes and a balancer', async () => {
    const compose = parse(await read('docker-compose.yml'), { merge: true }) as Compose
    const { mongo, redis, app1, app2, lb } = compose.services
    expect(mongo?.image).toBe('mongo:7')
    expect(redis?.image).toBe('redis:7')
    expect(redis?.command?.join(' ')).toMatch(/--appendonly yes/)
    expect(redis?.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/)
    for (const app of [app1, app2]) {
      expect(app?.build).toBe('.')
      expect(app?.environment).toMatchObject({ NODE_ENV: 'production', MONGODB_URL: 'mongodb://mongo:27017', REDIS_URL: 'redis://redis:6379', TRUST_PROXY: 'true' })
      expect(app?.environment?.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/)
    }
    expect(lb?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro')
    expect(mongo?.healthcheck && redis?.healthcheck).toBeTruthy()
  })

  it('balances over both nodes and passes WebSocket upgrades', async () => {
    const nginx = await read('deploy/nginx.conf')
    expect(nginx).toMatch(/server app1:8080/)
    expect(nginx).toMatch(/server app2:8080/)
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/)
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade/)
    expect(nginx).toMatch(/proxy_http_version 1\.1/)
  })

  it('.env.example lists every setting', async () => {
    const example = await read('.env.example')
    for (const setting of Object.values(SETTINGS)) expect(example, setting.env).toMatch(new RegExp(`^(# )?${setting.env}=`, 'm'))
  })
})

describe('Dockerfile', () => {
  it('builds on Node 24 slim, runs compiled code as non-root with a healthcheck, bakes no secrets', async () => {
    const dockerfile = await read('Dockerfile')
    const pkg = JSON.parse(await read('package.json')) as { scripts: Record<string, string> }
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const from of froms) expect(from).toBe('node:24-slim')
    for (const [, script] of dockerfile.matchAll(/npm run (\S+)/g)) expect(pkg.scripts, `script ${script}`).toHaveProperty(script!)
    const final = dockerfile.slice(dockerfile.lastIndexOf('FROM '))
    expect(final).toMatch(/npm ci --omit=dev/)
    expect(final).toMatch(/^USER node$/m)
    expect(final).toMatch(/^HEALTHCHECK /m)
    expect(final).toMatch(/CMD \["node", "dist\/server\/main\.js"\]/)
    expect(dockerfile.slice(0, dockerfile.lastIndexOf('FROM '))).toMatch(/^COPY web \.\/web$/m) // build:web needs it
    expect(final).toMatch(/^COPY --from=build \/app\/web\/dist \.\/web\/dist$/m)
    expect(dockerfile).not.toMatch(/^(ENV|ARG)\s+\S*(SECRET|PASSWORD|TOKEN)/mi)
  })

  it('the compiled output starts with `node dist/server/main.js` and serves clients', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root })
    const dir = await tempDir()
    const server = await spawnServer({ DATA_DIR: dir.path, NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, METRICS_TOKEN: 'deploy-test-metrics', LOG_LEVEL: 'warn' }, 20_000, path.join(root, 'dist/server/main.js'))
    try {
      const fx = await groupFixture(fetchApi(server.url))
      const a = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
      const b = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
      addStroke(a.doc, { author: fx.owner.id, color: '#010203', width: 2, tool: 'pen', points: [[1, 2]] })
      await waitFor(() => readStrokes(b.doc).length === 1)
      a.destroy()
      b.destroy()
      const page = await fetch(`${server.url}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/)
    } finally {
      await server.kill()
      await dir.remove()
    }
  }, 120_000)
})
