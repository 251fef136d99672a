/** A real server on port 0 with its own temporary DATA_DIR. */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { testConfig, type Config } from '../../server/config.ts'
import { groupFixture, injectApi, type GroupFixture } from './api.ts'
import { connectSynced, type Client } from './clients.ts'

export interface TestServer {
  app: FastifyInstance
  config: Config
  /** http://127.0.0.1:port */
  url: string
  /** ws://127.0.0.1:port/collab — the `serverUrl` for WebsocketProvider. */
  collabUrl: string
  close(): Promise<void>
}

export async function tempDir(prefix = 'collab-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789'

export async function startServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const config = testConfig({ host: '127.0.0.1', roomGraceMs: 200, jwtSecret: TEST_JWT_SECRET, authRateLimitPerMinute: 10_000, inviteAcceptRateLimitPerMinute: 10_000, ...overrides })
  const app = await buildApp(config)
  await app.listen({ host: config.host, port: 0 })
  const { port } = app.server.address() as AddressInfo
  return {
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    close: () => app.close(),
  }
}

export interface FreshServer {
  server: TestServer
  /** One user owning one group on that server. */
  fx: GroupFixture
  /** Clients to destroy after each test. */
  clients: Client[]
  /** Two synced members' clients in `room`, destroyed after the test. */
  pair(room: string): Promise<[Client, Client]>
}

/** A fresh server (own DATA_DIR, one group) for every test of the enclosing scope. */
export function useFreshServer(overrides: () => Partial<Config> = () => ({})): FreshServer {
  const context = { clients: [] as Client[] } as FreshServer
  context.pair = async (room) => {
    const a = await connectSynced(context.server.collabUrl, room, { token: context.fx.token })
    const b = await connectSynced(context.server.collabUrl, room, { token: context.fx.token })
    context.clients.push(a, b)
    return [a, b]
  }
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  beforeEach(async () => {
    dir = await tempDir()
    context.server = await startServer({ dataDir: dir.path, ...overrides() })
    context.fx = await groupFixture(injectApi(context.server.app))
  })
  afterEach(async () => {
    for (const client of context.clients.splice(0)) client.destroy()
    await context.server?.close()
    await dir?.remove()
  })
  return context
}
