/**
 * Shared set-up for the REST tests: one server per file (or per describe) on a temporary data
 * directory, driven through `app.inject`, and a check for the `{ error, message }` error shape.
 */
import { afterAll, beforeAll, expect } from 'vitest'
import type { Config } from '../../server/config.ts'
import { injectApi, type Api, type Reply } from '../helpers/api.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'

export interface HttpContext {
  server: TestServer
  api: Api
}

/** Starts a server in `beforeAll` of the enclosing scope and closes it (and removes its data) in `afterAll`. */
export function useServer(overrides: Partial<Config> = {}): HttpContext {
  const context = {} as HttpContext
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  beforeAll(async () => {
    dir = await tempDir('collab-http-')
    context.server = await startServer({ dataDir: dir.path, ...overrides })
    context.api = injectApi(context.server.app)
  })
  afterAll(async () => {
    await context.server?.close()
    await dir?.remove()
  })
  return context
}

/** Asserts an error reply: the status, the `error` code and a non-empty message. */
export function expectError(reply: Reply, status: number, error: string): void {
  expect({ status: reply.status, error: (reply.body as { error?: unknown } | undefined)?.error }).toEqual({ status, error })
  expect((reply.body as { message?: unknown }).message).toEqual(expect.any(String))
  expect(((reply.body as { message: string }).message).length).toBeGreaterThan(0)
}

let emails = 0

/** An email address no other test uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${emails++}@example.test`
}

/** A well-formed group id that no group has. */
export const UNKNOWN_GROUP_ID = 'AAAAAAAAAAAAAAAAAAAAAA'
