/**
 * The follower's gap handling, on a log whose subscription the test drives (the real logs' gaps
 * are tested in test/faults and the simulation; here each timing rule is pinned down): a gap
 * catches up from the snapshot and resumes after the position reached; catch-ups are at least
 * RETRY_MS apart; a failed one is retried; nothing happens once the room stopped.
 */
import pino from 'pino'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { RoomFollower } from '../../server/collab/room/room-follower.ts'
import type { LogListener, Subscription, UpdateLog } from '../../server/log/types.ts'

let listener: LogListener
let resumed: string[]
let closed: number
let catchUps: Array<{ resolve(position: string): void; reject(error: Error): void }>

function follower(): RoomFollower {
  const log = {
    subscribe(_room: string, _after: string, given: LogListener): Subscription {
      listener = given
      return { resume: (position) => void resumed.push(position), close: () => void closed++ }
    },
  } as unknown as UpdateLog
  const follow = new RoomFollower({
    room: 'g/canvas',
    log,
    logger: pino({ level: 'silent' }),
    position: () => '5-0',
    read: () => undefined,
    catchUp: () => new Promise((resolve, reject) => catchUps.push({ resolve, reject })),
  })
  follow.start()
  return follow
}

const gap = (): void => listener.gap('g/canvas')
const settle = async (): Promise<void> => void await vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 })
  resumed = []
  closed = 0
  catchUps = []
})

afterEach(() => {
  vi.useRealTimers()
})

it('catches up from the snapshot at a gap and resumes after the position it reached', async () => {
  follower()
  gap()
  expect(catchUps).toHaveLength(1)
  catchUps[0]!.resolve('9-0')
  await settle()
  expect(resumed).toEqual(['9-0'])
})

it('catches up no faster than once a second: a second gap at once waits for the rest of it', async () => {
  follower()
  gap()
  catchUps[0]!.resolve('9-0')
  await settle()
  await vi.advanceTimersByTimeAsync(400)
  gap()
  expect(catchUps).toHaveLength(1)
  await vi.advanceTimersByTimeAsync(599)
  expect(catchUps).toHaveLength(1)
  await vi.advanceTimersByTimeAsync(1)
  expect(catchUps).toHaveLength(2)
})

it('retries a failed catch-up a second later, until it works', async () => {
  follower()
  gap()
  catchUps[0]!.reject(new Error('storage down'))
  await settle()
  expect(resumed).toEqual([])
  await vi.advanceTimersByTimeAsync(999)
  expect(catchUps).toHaveLength(1)
  await vi.advanceTimersByTimeAsync(1)
  expect(catchUps).toHaveLength(2)
  catchUps[1]!.resolve('12-0')
  await settle()
  expect(resumed).toEqual(['12-0'])
})

it('once stopped: the subscription is closed, a pending retry never runs, a late catch-up resumes nothing', async () => {
  const follow = follower()
  gap()
  catchUps[0]!.reject(new Error('storage down'))
  await settle()
  follow.stop()
  expect(closed).toBe(1)
  await vi.advanceTimersByTimeAsync(5_000)
  expect(catchUps).toHaveLength(1)

  const again = follower()
  await vi.advanceTimersByTimeAsync(1_000)
  gap()
  again.stop()
  catchUps[1]!.resolve('20-0')
  await settle()
  expect(resumed).toEqual([])
})

it('a catch-up that fails after the room stopped is not retried', async () => {
  const follow = follower()
  gap()
  follow.stop()
  catchUps[0]!.reject(new Error('storage down'))
  await settle()
  await vi.advanceTimersByTimeAsync(5_000)
  expect(catchUps).toHaveLength(1)
})
