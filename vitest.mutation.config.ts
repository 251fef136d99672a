/**
 * The tests StrykerJS runs against each mutant of the room core, intake, follower, compactor and
 * log (`npx stryker run`, config in stryker.config.json): the simulation (fewer histories than in
 * `npm test`: a mutant it catches fails within a few), the room core's generated logs, the
 * intake's decisions, the effective-update and split-update properties, and the log suites (conformance on both logs, codec, reader). Suites that start
 * servers stay out: at seconds a test, 1,400 mutants would take hours; the score is what these
 * fast, deterministic suites alone catch.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'test/sim/room-core.sim.test.ts',
      'test/collab/room-core.test.ts',
      'test/collab/room-intake.test.ts',
      'test/collab/update-parts.test.ts',
      'test/collab/room-follower.test.ts',
      'test/collab/doc-bytes.test.ts',
      'test/collab/effective-update.test.ts',
      'test/collab/split-update.test.ts',
      'test/log/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    env: { SIM_RUNS: process.env.SIM_RUNS ?? '40' },
  },
})
