/**
 * No Docker engine runs here, so the deployment files are checked for what can be checked: the
 * compose file parses, wires what the README promises and gives the nodes a configuration the
 * server accepts; the balancer's config passes `nginx -t` and, run by a real nginx in front of
 * two real nodes, passes WebSockets and never lets a client choose its address; .env.example
 * lists every setting; the Dockerfile's commands exist; the compiled output starts and serves
 * clients when run with Node the way the image runs it.
 */
import { execFile } from 'node:child_process'
import { access, readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { loadConfig, SETTINGS } from '../../server/config.ts'
import { fetchApi, groupFixture } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { runNginx } from '../helpers/nginx.ts'
import { spawnServer } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { productStart } from '../../bench/lib/product-start.ts'

const root = path.resolve(import.meta.dirname, '../..')
const read = (file: string): Promise<string> => readFile(path.join(root, file), 'utf8')

interface Service {
  image?: string
  build?: string
  pull_policy?: string
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  healthcheck?: unknown
  depends_on?: Record<string, unknown>
}

interface Compose {
  services: Record<string, Service>
}

/** The compose file's `${VAR:-default}` and `${VAR:?message}` as an operator's .env would fill them. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(:-([^}]*)|:\?[^}]*)?\}/g, (_all, name: string, _rest, fallback?: string) => {
    if (name === 'JWT_SECRET') return 'x'.repeat(48)
    if (name === 'METRICS_TOKEN') return 'scrape-token'
    return fallback ?? ''
  })
}

async function compose(): Promise<Compose> {
  return parse(await read('docker-compose.yml'), { merge: true }) as Compose
}

describe('docker-compose.yml', () => {
  it('runs MongoDB 7, Redis 7 with AOF and no eviction, two nodes of one image built once, and a balancer', async () => {
    const { mongo, redis, app1, app2, lb } = (await compose()).services
    expect(mongo?.image).toBe('mongo:7')
    expect(redis?.image).toBe('redis:7')
    expect(redis?.command?.join(' ')).toMatch(/--appendonly yes/)
    expect(redis?.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/)
    expect(app1?.build).toBe('.')
    expect(app2?.build).toBeUndefined() // built once: app2 runs app1's image
    expect(app2?.image).toBe(app1?.image)
    expect(app2?.pull_policy).toBe('never')
    expect(lb?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro')
    expect(mongo?.healthcheck && redis?.healthcheck).toBeTruthy()
  })

  it('lets nodes come and go: the balancer does not depend on them, and only it is reachable from outside', async () => {
    const { services } = await compose()
    expect(Object.keys(services.lb?.depends_on ?? {})).not.toContain('app2') // `--scale app2=0` would be refused
    expect(Object.keys(services.lb?.depends_on ?? {})).not.toContain('app1')
    // TRUST_PROXY=1 believes whichever peer connects: that must only ever be nginx.
    const published = Object.entries(services).filter(([, service]) => (service.ports ?? []).length > 0).map(([name]) => name)
    expect(published).toEqual(['lb'])
  })

  it('gives every node a configuration the server accepts, trusting exactly one proxy', async () => {
    const { app1, app2 } = (await compose()).services
    const known = new Set(Object.values(SETTINGS).map((setting) => setting.env))
    for (const app of [app1, app2]) {
      const env = Object.fromEntries(Object.entries(app?.environment ?? {}).map(([name, value]) => [name, interpolate(String(value))]))
      for (const name of Object.keys(env)) expect(known, `${name} is a setting`).toContain(name)
      const config = loadConfig(env)
      expect(config).toMatchObject({ nodeEnv: 'production', mongodbUrl: 'mongodb://mongo:27017', redisUrl: 'redis://redis:6379', trustProxy: 1 })
    }
  })

  it('.env.example lists every setting', async () => {
    const example = await read('.env.example')
    for (const setting of Object.values(SETTINGS)) expect(example, setting.env).toMatch(new RegExp(`^(# )?${setting.env}=`, 'm'))
  })
})

describe('deploy/nginx.conf', () => {
  it('names every node of the compose file, found again by DNS, and overwrites X-Forwarded-For', async () => {
    const nginx = await read('deploy/nginx.conf')
    const apps = Object.keys((await compose()).services).filter((name) => name.startsWith('app'))
    const servers = [...nginx.matchAll(/^\s*server (\S+):8080 (.*);$/gm)].map((m) => ({ host: m[1], params: m[2] }))
    expect(servers.map((s) => s.host).sort()).toEqual(apps.sort())
    for (const server of servers) expect(server.params).toMatch(/\bresolve\b/)
    expect(nginx).toMatch(/^\s*zone collab \d+k;$/m) // `resolve` needs the group in shared memory
    expect(nginx).toMatch(/^\s*resolver 127\.0\.0\.11 valid=\d+s/m)
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/)
    expect(nginx).not.toMatch(/proxy_add_x_forwarded_for/)
    expect((await compose()).services.lb?.image).toMatch(/^nginx:1\.(2[89]|[3-9]\d|27)/) // resolve: open source since 1.27.3
  })

  it('is sized for tens of thousands of sockets and caps each client address, as the compose file lets it', async () => {
    const nginx = await read('deploy/nginx.conf')
    const workerConnections = Number(/^\s*worker_connections (\d+);$/m.exec(nginx)?.[1])
    const descriptors = Number(/^worker_rlimit_nofile (\d+);$/m.exec(nginx)?.[1])
    expect(workerConnections).toBeGreaterThanOrEqual(16_384)
    expect(descriptors).toBeGreaterThanOrEqual(2 * workerConnections) // two per proxied socket
    expect(nginx).toMatch(/^\s*limit_conn_zone \$binary_remote_addr zone=(\w+):\d+m;$/m)
    const zone = /limit_conn_zone \$binary_remote_addr zone=(\w+):/.exec(nginx)![1]
    expect(nginx).toMatch(new RegExp(`^\\s*limit_conn ${zone} \\d+;$`, 'm'))
    expect(nginx).toMatch(/^\s*limit_conn_status 429;$/m)
    const { lb, app1, app2 } = (await compose()).services as Record<string, Service & { ulimits?: { nofile?: { soft: number; hard: number } } }>
    for (const service of [lb, app1, app2]) expect(service?.ulimits?.nofile?.soft).toBeGreaterThanOrEqual(descriptors)
    for (const app of [app1, app2]) expect(app?.environment?.MAX_CONNECTIONS_PER_ADDRESS).toBeDefined()
  })

  it('passes `nginx -t`, and in front of two real nodes passes WebSockets and never a client-chosen address', async () => {
    const nginx = await runNginx({ AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_LIMIT) })
    try {
      const api = fetchApi(nginx.url)
      const fx = await groupFixture(api, 'Balanced')
      const a = await connectSynced(nginx.collabUrl, fx.canvas, { token: fx.token })
      const b = await connectSynced(nginx.collabUrl, fx.canvas, { token: fx.token })
      addStroke(a.doc, { author: fx.owner.id, color: '#0a0b0c', width: 2, tool: 'pen', points: [[1, 2]] })
      await waitFor(() => readStrokes(b.doc).length === 1, 10_000, 'the stroke through nginx')
      a.destroy()
      b.destroy()

      // Every attempt claims another address; the nodes still count them all as one client.
      const statuses: number[] = []
      for (let i = 0; i < 2 * (AUTH_LIMIT + 1); i++) {
        const response = await fetch(`${nginx.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i + 1}` },
          body: JSON.stringify({ email: 'nobody@example.test', password: 'not the password' }),
        })
        statuses.push(response.status)
        await response.body?.cancel()
      }
      expect(statuses).toContain(429)
      const logged = nginx.cluster.live().flatMap((node) => node.logs).filter((line) => line.includes('"incoming request"'))
      expect(logged.length).toBeGreaterThan(0)
      for (const line of logged) expect(line).not.toMatch(/203\.0\.113\./)
    } finally {
      await nginx.close()
    }
  }, 120_000)
})

/** Per node and minute: the forged-address run above sends more than twice this through two nodes. */
const AUTH_LIMIT = 3

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
    const start = productStart() // the image runs the server as `npm start` does
    expect(start.nodeArgs).not.toHaveLength(0)
    expect(final).toContain(`CMD ${JSON.stringify(['node', ...start.nodeArgs, 'dist/server/main.js']).replaceAll(',', ', ')}`)
    for (const [name, value] of Object.entries(start.env)) expect(final).toMatch(new RegExp(`^ENV [^]*?\\b${name}=${value}\\b`, 'm'))
    // jemalloc, preloaded from the one path the image links it to (whatever the architecture).
    expect(final).toMatch(/apt-get install -y --no-install-recommends libjemalloc2\b/)
    const linked = /ln -s "\$\(ls \/usr\/lib\/\*-linux-gnu\/libjemalloc\.so\.2\)" (\S+)$/m.exec(final)?.[1]
    expect(linked).toBe('/usr/local/lib/libjemalloc.so.2')
    expect(final).toMatch(new RegExp(`^ENV [^]*?\\bLD_PRELOAD=${linked}$`, 'm'))
    expect(dockerfile.slice(0, dockerfile.lastIndexOf('FROM '))).toMatch(/^COPY web \.\/web$/m) // build:web needs it
    expect(final).toMatch(/^COPY --from=build \/app\/web\/dist \.\/web\/dist$/m)
    expect(dockerfile).not.toMatch(/^(ENV|ARG)\s+\S*(SECRET|PASSWORD|TOKEN)/mi)
  })

  it('the compiled output starts with `node dist/server/main.js` and serves clients, on jemalloc as in the image', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root })
    const dir = await tempDir()
    const jemalloc = await machineJemalloc()
    const imageEnv = { ...productStart().env, LD_PRELOAD: jemalloc }
    const server = await spawnServer({ ...imageEnv, DATA_DIR: dir.path, NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, METRICS_TOKEN: 'deploy-test-metrics', LOG_LEVEL: 'warn' }, 20_000, path.join(root, 'dist/server/main.js'))
    try {
      expect(await readFile(`/proc/${server.child.pid}/maps`, 'utf8')).toContain(jemalloc)
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
      expect(await server.kill()).toBe(0) // the final compaction ran in the fold worker, on jemalloc too
    } finally {
      await server.kill()
      await dir.remove()
    }
  }, 120_000)
})

/** Debian's libjemalloc2 on this machine (`.ci/run` installs it), as the image preloads it. */
async function machineJemalloc(): Promise<string> {
  const lib = '/usr/lib'
  for (const dir of await readdir(lib)) {
    const candidate = path.join(lib, dir, 'libjemalloc.so.2')
    if (dir.endsWith('-linux-gnu') && await access(candidate).then(() => true, () => false)) return candidate
  }
  throw new Error('libjemalloc2 is not installed here (apt-get install libjemalloc2; .ci/run does)')
}
