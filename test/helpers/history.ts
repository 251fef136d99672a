/**
 * The setup history tests share: a fresh server (own DATA_DIR) for every test, one group owned by
 * Ann with the members a file asks for, stock clients destroyed after each test, and the pen
 * strokes they draw.
 */
import { afterEach, beforeEach } from 'vitest'
import type { Config } from '../../server/config.ts'
import { addMember, groupFixture, injectApi, registerUser, type Api, type GroupFixture, type TestUser } from './api.ts'
import { connectSynced, type Client } from './clients.ts'
import { startServer, tempDir, type TestServer } from './server.ts'

/** A short pen stroke of `author` at (`at`, `at`). */
export const pen = (author: string, color: string, at: number) => ({ author, color, width: 3, tool: 'pen' as const, points: [[at, at], [at + 5, at + 5]] as const })

/** A member of the group: registered under `name`, invited with `role` (an editor by default). */
export type MemberSpec = string | { name: string; role: 'editor' | 'viewer' }

export interface HistoryServer<M extends string> {
  server: TestServer
  /** REST on `server` (follows it across `restart`). */
  api: Api
  /** The group, owned by Ann. */
  fx: GroupFixture
  /** The members asked for, by key. */
  members: Record<M, TestUser>
  /** Clients to destroy after each test. */
  clients: Client[]
  /** A synced client of `user` in `room`, destroyed after the test. */
  client(room: string, user: { token: string }): Promise<Client>
  /** Closes the server and starts it again on the same DATA_DIR and store, with `overrides` on top. */
  restart(overrides?: Partial<Config>): Promise<void>
}

/**
 * For every test of the enclosing scope: a server started with `config()` (called once per test,
 * so a backend's fresh store is the same across a restart), Ann's group, then `members`
 * registered and added in the order given.
 */
export function useHistoryServer<M extends string = never>(config: () => Partial<Config>, members: Record<M, MemberSpec> = {} as Record<M, MemberSpec>): HistoryServer<M> {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  let settings: Partial<Config> = {}
  const context = { clients: [] as Client[], members: {} as Record<M, TestUser> } as HistoryServer<M>
  const start = async (overrides: Partial<Config> = {}): Promise<void> => {
    context.server = await startServer({ dataDir: dir!.path, ...settings, ...overrides })
    context.api = injectApi(context.server.app)
  }
  context.client = async (room, user) => {
    const connected = await connectSynced(context.server.collabUrl, room, { token: user.token })
    context.clients.push(connected)
    return connected
  }
  context.restart = async (overrides) => {
    await context.server.close()
    await start(overrides)
  }
  beforeEach(async () => {
    dir = await tempDir()
    settings = config()
    await start()
    context.fx = await groupFixture(context.api, 'Ann')
    const specs = Object.entries<MemberSpec>(members).map(([key, spec]) => ({ key: key as M, ...(typeof spec === 'string' ? { name: spec, role: 'editor' as const } : spec) }))
    for (const { key, name } of specs) context.members[key] = await registerUser(context.api, name)
    for (const { key, role } of specs) await addMember(context.api, context.fx.owner, context.fx.group.id, context.members[key], role)
  })
  afterEach(async () => {
    for (const client of context.clients.splice(0)) client.destroy()
    await context.server.close()
    await dir!.remove()
  })
  return context
}
