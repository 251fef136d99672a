/**
 * The tests StrykerJS runs against each mutant of the compactor (`npx stryker run
 * stryker.compactor.config.json`): the fast suites of vitest.mutation.config.ts, plus the
 * compaction suites that start a server (scheduling, leases, retries, cold folds, history
 * records): the compactor's timers and lease handling are reached by nothing faster.
 */
import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.mutation.config.ts'

export default mergeConfig(base, defineConfig({
  test: {
    include: [
      ...(base.test?.include ?? []),
      'test/collab/compaction.test.ts',
      'test/collab/compaction-lease.test.ts',
      'test/collab/room-lifecycle.test.ts',
      'test/history/record-once.test.ts',
    ],
  },
}))
