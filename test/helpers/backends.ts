/**
 * The storage backends persistence tests run on: the embedded store and MongoDB (each test gets
 * its own database on the run's MongoDB-wire server).
 */
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import type { Config } from '../../server/config.ts'

export interface Backend {
  name: 'embedded' | 'mongodb'
  /** Config overrides for a fresh, empty store of this kind. */
  fresh(): Partial<Config>
}

export function uniqueDbName(): string {
  return `test_${randomBytes(6).toString('hex')}`
}

export const BACKENDS: Backend[] = [
  { name: 'embedded', fresh: () => ({}) },
  { name: 'mongodb', fresh: () => ({ mongodbUrl: inject('mongoUrl'), mongodbDb: uniqueDbName() }) },
]
