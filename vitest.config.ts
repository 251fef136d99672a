import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    reporters: ['default'],
    // expect.poll waits for an outcome over real sockets and processes: vitest's default 1 s is a
    // wall-clock budget a loaded machine can miss (polls end as soon as the outcome holds).
    expect: { poll: { timeout: 15_000, interval: 50 } },
  },
})
