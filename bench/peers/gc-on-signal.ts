/**
 * Preloaded into every server under test (`--expose-gc --import`): SIGUSR2 runs a full garbage
 * collection, so memory figures compare what servers keep alive, not when each last collected.
 */
const collect = (globalThis as { gc?: () => void }).gc
if (collect) process.on('SIGUSR2', () => collect())
