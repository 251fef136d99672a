/**
 * The tests StrykerJS runs against each mutant of the room core, intake, follower, compactor and
 * log (`npx stryker run`, config in stryker.config.json): the simulation (fewer histories than in
 * `npm test`: a mutant it catches fails within a few), the effective-update properties, the log
 * conformance suites and the room, compaction and relog tests. Slow end-to-end suites stay out.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'test/sim/**/*.test.ts',
      'test/collab/effective-update.test.ts',
      'test/collab/compaction*.test.ts',
      'test/collab/room-lifecycle.test.ts',
      'test/collab/relog.test.ts',
      'test/collab/held-limits.test.ts',
      'test/collab/foreign-hold.test.ts',
      'test/collab/gate-install.test.ts',
      'test/collab/split-update.test.ts',
      'test/log/**/*.test.ts',
      'test/history/record-once.test.ts',
    ],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    env: { SIM_RUNS: process.env.SIM_RUNS ?? '60' },
  },
})
