/**
 * One MongoDB-wire server for the whole run (unless MONGODB_URL points at one), handed to tests
 * through vitest's `provide`/`inject`. Tests that stop or restart a server start their own.
 */
import type { TestProject } from 'vitest/node'
import { startMongoWire } from './mongo-wire.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.MONGODB_URL) {
    project.provide('mongoUrl', process.env.MONGODB_URL)
    return async () => {}
  }
  const server = await startMongoWire()
  project.provide('mongoUrl', server.url)
  return () => server.destroy()
}
