/**
 * When the compactor folds a hot room, on a fake clock, with a room that always has something
 * new. Early folds (chat rooms, for the change feed): one is folded at its deadline while the
 * node's early-fold budget can pay for its bytes, and like any room once it cannot, so members
 * posting into many big chats cannot keep the node rewriting them. Any room: never quiet for
 * COMPACT_IDLE_MS, it still folds COMPACT_MAX_WAIT_MS after its first update not folded.
 */
import pino from 'pino'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { Compactor, type CompactorDeps } from '../../server/collab/compaction/compactor.ts'
import type { Room } from '../../server/collab/room/room.ts'
import { Budget } from '../../server/collab/wire/budget.ts'
import { LOG_START } from '../../server/log/log-id.ts'

const DEADLINE_MS = 100
const IDLE_MS = 10_000
const MAX_WAIT_MS = 25_000

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] }))
afterEach(() => vi.useRealTimers())

/**
 * A room of `bytes` that never goes quiet. `news.pending`: whether it holds updates not folded;
 * unless `settles`, every fold finds new ones after it.
 */
function busyRoom(bytes: number, settles = false, news = { pending: true }): Room {
  const base = { pieces: [], infos: [], full: 0, watermark: LOG_START, stateVector: new Map(), bindings: new Map() }
  return {
    name: 'g1/chat',
    get foldable() { return news.pending ? 1 : 0 },
    get entriesSinceSnapshot() { return news.pending ? 1 : 0 },
    get lastAppliedAt() { return Date.now() },
    bytes: { bytes, baseWatermark: LOG_START },
    watermark: LOG_START,
    foldPlan: () => {
      news.pending = !settles
      return { base, updates: [], watermark: LOG_START }
    },
    adoptBase: async () => {},
  } as unknown as Room
}

function compactor(earlyFolds?: Budget, eventDelayMs: number | null = DEADLINE_MS): { compactor: Compactor; folds: () => number } {
  let folds = 0
  const deps = {
    snapshots: { watermark: async () => null },
    lease: { withLease: async <T>(_room: string, work: () => Promise<T>) => { folds++; return work() } },
    logger: pino({ level: 'silent' }),
    everyUpdates: 1_000,
    idleMs: IDLE_MS,
    maxWaitMs: MAX_WAIT_MS,
    batchSize: 100,
    observer: { compactionFailed: () => {}, compacted: () => {} },
    roomExists: async () => true,
    eventDelayMs: () => eventDelayMs ?? undefined,
    ...(earlyFolds && { earlyFolds }),
  } as unknown as CompactorDeps
  return { compactor: new Compactor(deps), folds: () => folds }
}

it('folds a busy chat at every deadline while the node can pay, then only as often as its budget refills', async () => {
  const unbounded = compactor()
  unbounded.compactor.noteApplied(busyRoom(600_000))
  await vi.advanceTimersByTimeAsync(10 * DEADLINE_MS + 50)
  expect(unbounded.folds()).toBe(10)

  // 1 MB at once, then 100 kB a second: one 600 kB fold now, the next once 600 kB are back (6 s on).
  const bounded = compactor(new Budget({ capacity: 1_000_000, perSecond: 100_000 }))
  bounded.compactor.noteApplied(busyRoom(600_000))
  await vi.advanceTimersByTimeAsync(10 * DEADLINE_MS + 50)
  expect(bounded.folds()).toBe(1)
  await vi.advanceTimersByTimeAsync(IDLE_MS + DEADLINE_MS)
  expect(bounded.folds()).toBeGreaterThan(1) // it still folds: at its deadlines once paid for, or after COMPACT_IDLE_MS
  expect(bounded.folds()).toBeLessThanOrEqual(4) // 10.1 s of a refill of 100 kB/s pays for one more 600 kB fold, and the quiet fold
})

it('folds a room that never goes quiet every COMPACT_MAX_WAIT_MS, and waits afresh after a fold that left nothing', async () => {
  const busy = compactor(undefined, null)
  busy.compactor.noteApplied(busyRoom(1_000))
  await vi.advanceTimersByTimeAsync(MAX_WAIT_MS - 50)
  expect(busy.folds()).toBe(0) // never quiet for COMPACT_IDLE_MS
  await vi.advanceTimersByTimeAsync(100)
  expect(busy.folds()).toBe(1)
  await vi.advanceTimersByTimeAsync(MAX_WAIT_MS)
  expect(busy.folds()).toBe(2) // what it left waited from the fold's start

  // Folded to nothing, then news long after: it waits from that first update, not from the fold.
  const settling = compactor(undefined, null)
  const news = { pending: true }
  const room = busyRoom(1_000, true, news)
  settling.compactor.noteApplied(room)
  await vi.advanceTimersByTimeAsync(MAX_WAIT_MS + 50)
  expect(settling.folds()).toBe(1)
  await vi.advanceTimersByTimeAsync(10 * MAX_WAIT_MS)
  expect(settling.folds()).toBe(1) // nothing to fold: nothing armed
  news.pending = true
  settling.compactor.noteApplied(room)
  await vi.advanceTimersByTimeAsync(MAX_WAIT_MS - 50)
  expect(settling.folds()).toBe(1)
  await vi.advanceTimersByTimeAsync(100)
  expect(settling.folds()).toBe(2)
})
