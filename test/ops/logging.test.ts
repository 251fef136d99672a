/**
 * Structured logs with request ids, and nothing secret in them: a real server process is driven
 * through sign-up, login, refresh, sockets with tokens in the URL and failed requests, then every
 * line it logged is searched for the secrets it handled.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fetchApi, groupFixture } from '../helpers/api.ts'
import { connectSynced, rawSocket } from '../helpers/clients.ts'
import { spawnServer, type ServerProcess } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let server: ServerProcess
let dir: Awaited<ReturnType<typeof tempDir>>

beforeAll(async () => {
  dir = await tempDir()
  server = await spawnServer({ DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'debug' })
}, 30_000)

afterAll(async () => {
  await server.kill()
  await dir.remove()
})

it('logs requests with ids (echoing a safe X-Request-Id) and never a password, token or secret', async () => {
  const api = fetchApi(server.url)
  const fx = await groupFixture(api, 'Logger')
  const password = 'correct horse battery' // what registerUser uses
  const login = await api<{ accessToken: string; refreshToken: string }>('POST', '/auth/login', { body: { email: fx.owner.email, password } })
  const refreshed = await api<{ accessToken: string; refreshToken: string }>('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } })
  await api('POST', '/auth/login', { body: { email: fx.owner.email, password: 'wrong password here' } })
  await api('GET', '/auth/me', { token: 'garbage.token.value' })
  const client = await connectSynced(server.collabUrl, fx.canvas, { token: refreshed.body.accessToken })
  client.destroy()
  const refused = rawSocket(`${server.collabUrl}/${fx.canvas}?token=not-a-valid-token-but-secret-looking`)
  await refused.closed

  const tagged = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } })
  expect(tagged.headers.get('x-request-id')).toBe('trace-abc-123')
  const untagged = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } })
  const lastId = untagged.headers.get('x-request-id')!
  expect(lastId).toMatch(/^[0-9a-f-]{36}$/)
  // The last request's completion is logged last: once it is there, everything before it is too.
  await waitFor(() => server.logs.some((line) => line.includes(lastId) && line.includes('"request completed"')), 5_000, 'the last request logged')

  const logs = server.logs.join('\n')
  const secrets = [password, 'wrong password here', fx.owner.token, login.body.accessToken, login.body.refreshToken, refreshed.body.accessToken, refreshed.body.refreshToken, TEST_JWT_SECRET, 'not-a-valid-token-but-secret-looking', 'garbage.token.value']
  for (const secret of secrets) expect(logs, `log leaks ${secret.slice(0, 12)}…`).not.toContain(secret)
  const requests = server.logs.filter((line) => line.includes('"incoming request"')).map((line) => JSON.parse(line) as { reqId: string; req: { url: string } })
  expect(requests.length).toBeGreaterThan(5)
  expect(requests.some((r) => r.reqId === 'trace-abc-123')).toBe(true)
  for (const request of requests) expect(request.req.url).not.toContain('?')
})
