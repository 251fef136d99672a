/** Redis-specific behaviour of the shared stream reader. */
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BackgroundFailures } from '../../server/background-loop.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { LOG_START, successorLogId } from '../../server/log/log-id.ts'
import type { LoggedUpdate } from '../../server/log/types.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { StreamReader } from '../../server/log/stream-reader.ts'
import type { LogEntry } from '../../server/log/types.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

let redis: RedisServer
let clients: RedisClients
let log: RedisLog
const logger = pino({ level: 'silent' })

beforeAll(async () => {
  redis = await startRedis()
  clients = await RedisClients.connect(redis.url, logger)
  log = new RedisLog(clients, { prefix: 'reader:', minEntryAgeMs: 0, logger })
})

afterAll(async () => {
  await log.close()
  await clients.close()
  await redis.destroy()
})

const one = (value: number): LoggedUpdate[] => [{ writer: 'test', update: new Uint8Array([value]) }]

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {}
  const promise = new Promise<void>((done) => { resolve = done })
  return { promise, resolve }
}

function collect(): { seen: LogEntry[]; gaps: number; listener: { entries: (room: string, e: LogEntry[]) => void; gap: () => void } } {
  const state = {
    seen: [] as LogEntry[],
    gaps: 0,
    listener: { entries: (_room: string, entries: LogEntry[]) => void state.seen.push(...entries), gap: () => void state.gaps++ },
  }
  return state
}

it('includes a room followed while the reader is blocked without waiting out the block', async () => {
  const first = collect()
  const a = log.subscribe('unblock-a/canvas', LOG_START, first.listener)
  await log.append('unblock-a/canvas', one(1))
  await waitFor(() => first.seen.length === 1)
  // The reader now blocks (10 s) on room a; room b must be picked up well before that.
  const second = collect()
  const b = log.subscribe('unblock-b/canvas', LOG_START, second.listener)
  await log.append('unblock-b/canvas', one(2))
  await waitFor(() => second.seen.length === 1, 3_000, 'room b delivered before the block times out')
  a.close()
  b.close()
})

it('reports a gap to a follower whose unread entries were trimmed, then resumes after it reloads', async () => {
  const room = 'gap-room/canvas'
  const ids = [await log.append(room, one(1)), await log.append(room, one(2)), await log.append(room, one(3))]
  await log.trim(room, ids[1]!)
  const follower = collect()
  const subscription = log.subscribe(room, LOG_START, follower.listener)
  await waitFor(() => follower.gaps === 1)
  expect(follower.seen).toEqual([])
  subscription.resume(ids[1]!) // reloaded from a snapshot covering up to ids[1]
  await waitFor(() => follower.seen.length === 1)
  expect([...follower.seen[0]!.updates[0]!.update]).toEqual([3])
  subscription.close()
})

it('keeps delivering after the reader\'s connection is killed', async () => {
  const room = 'killed-reader/canvas'
  const follower = collect()
  const subscription = log.subscribe(room, LOG_START, follower.listener)
  await log.append(room, one(1))
  await waitFor(() => follower.seen.length === 1)
  await clients.cmd.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])
  await waitFor(() => clients.cmd.isReady && clients.reader.isReady, 5_000)
  await waitFor(async () => {
    await log.append(room, one(2)).catch(() => undefined)
    return follower.seen.some((e) => e.updates[0]?.update[0] === 2)
  }, 10_000, 'delivery after reconnect')
  expect(follower.gaps).toBe(0)
  subscription.close()
})

it('reads entries written before records existed (a bare update in field u) as one update by an unknown writer', async () => {
  const room = 'legacy-entry/canvas'
  await clients.cmd.xAdd(`reader:log:${room}`, '*', { u: Buffer.from([7, 7]) })
  const [entry] = await log.read(room, LOG_START, 10)
  expect(entry!.updates).toEqual([{ writer: '', update: new Uint8Array([7, 7]) }])
})

it('reads nothing for a follower until its gap check succeeds: a failed check is retried, not skipped', async () => {
  const failures = new BackgroundFailures()
  const checked = new RedisLog(clients, { prefix: 'gapcheck:', minEntryAgeMs: 0, logger, failures })
  const room = 'gap-check/canvas'
  const trimmedKey = `gapcheck:trimmed:${room}`
  const ids = [await checked.append(room, one(1)), await checked.append(room, one(2)), await checked.append(room, one(3))]
  await checked.trim(room, ids[1]!)
  const threshold = (await clients.cmd.get(trimmedKey))!
  // The threshold cannot be read for now: a real Redis error (the key holds the wrong type).
  await clients.cmd.del(trimmedKey)
  await clients.cmd.hSet(trimmedKey, 'broken', '1')
  const follower = collect()
  const subscription = checked.subscribe(room, LOG_START, follower.listener)
  await waitFor(() => failures.get('stream-reader') >= 2, 10_000, 'the gap check failing twice')
  expect(follower.seen).toEqual([])
  await clients.cmd.del(trimmedKey)
  await clients.cmd.set(trimmedKey, threshold)
  await waitFor(() => follower.gaps === 1, 10_000, 'the gap reported once the check can run')
  expect(follower.seen).toEqual([]) // never entry 3 alone, past the trimmed 1 and 2
  subscription.close()
  await checked.close()
})

it('reads a room followed while the reader awaits its gap check, without waiting out the block', async () => {
  // A block far longer than the test's wait: the new room must not wait for it to end.
  const own = await RedisClients.connect(redis.url, logger, { readBlockMs: 30_000 })
  const checking = signal()
  const release = signal()
  const reader = new StreamReader({
    connection: own.blockingReader(),
    keyOf: (room) => `between:log:${room}`,
    trimmedBelow: async (room) => {
      if (room === 'first') {
        checking.resolve()
        await release.promise // hold the reader between reads, inside its gap check
      }
      return null
    },
    mayBeTrimmedAfter: () => false,
    logger,
    toEntry: (_room, message) => ({ id: String(message.id), tag: '', updates: [] }),
    blockMs: 30_000,
    timeoutMs: 5_000,
    batch: 100,
    reportHealth: () => {},
    failures: new BackgroundFailures(),
  })
  const first = collect()
  const second = collect()
  const a = reader.follow('first', LOG_START, first.listener)
  await checking.promise
  const b = reader.follow('second', LOG_START, second.listener)
  release.resolve()
  await own.cmd.xAdd('between:log:second', '*', { r: 'x' })
  await waitFor(() => second.seen.length === 1, 5_000, 'the second room delivered long before the 30 s block ends')
  a.close()
  b.close()
  await reader.stop()
  await own.close()
})

it('sees a trim that lands between a follower\'s gap check and its read: a gap, never the entries after it alone', async () => {
  const own = await RedisClients.connect(redis.url, logger)
  const key = 'race:log:room'
  const ids = [await own.cmd.xAdd(key, '*', { r: '1' }), await own.cmd.xAdd(key, '*', { r: '2' }), await own.cmd.xAdd(key, '*', { r: '3' })]
  let threshold: string | null = null
  const reader = new StreamReader({
    connection: own.blockingReader(),
    keyOf: (room) => `race:log:${room}`,
    trimmedBelow: async () => {
      const seen = threshold
      if (threshold === null) {
        // Another node compacts and trims right after this check answered "never trimmed".
        threshold = successorLogId(ids[1]!)
        await own.cmd.xTrim(key, 'MINID', threshold)
      }
      return seen
    },
    mayBeTrimmedAfter: () => true, // a minimum entry age of 0: any entry may go at once
    logger,
    toEntry: (_room, message) => ({ id: String(message.id), tag: '', updates: [] }),
    blockMs: 1_000,
    timeoutMs: 5_000,
    batch: 100,
    reportHealth: () => {},
    failures: new BackgroundFailures(),
  })
  const follower = collect()
  const subscription = reader.follow('room', LOG_START, follower.listener)
  await waitFor(() => follower.gaps === 1, 5_000, 'the gap reported')
  expect(follower.seen).toEqual([]) // entry 3 was never delivered past the trimmed 1 and 2
  subscription.close()
  await reader.stop()
  await own.cmd.del(key)
  await own.close()
})

it('after a silent spell on the reader\'s path, checks for trimmed entries before reading on (the connection never closed)', async () => {
  const proxy = await startTcpProxy(redis.port)
  const failures = new BackgroundFailures()
  const silentClients = await RedisClients.connect(proxy.url(redis.url), logger, { timeoutMs: 500, readBlockMs: 300, failures })
  const follower = new RedisLog(silentClients, { prefix: 'silent:', minEntryAgeMs: 0, logger, failures })
  const writer = new RedisLog(clients, { prefix: 'silent:', minEntryAgeMs: 0, logger })
  const room = 'silent-reader/canvas'
  const seen = collect()
  const subscription = follower.subscribe(room, LOG_START, seen.listener)
  await writer.append(room, one(1))
  await waitFor(() => seen.seen.length === 1)
  proxy.blackhole()
  await waitFor(() => failures.get('stream-reader') >= 1, 10_000, 'the reader noticing the silence')
  expect(silentClients.isUp()).toBe(false)
  const second = await writer.append(room, one(2))
  await writer.append(room, one(3))
  await writer.trim(room, second) // entry 2 is gone before the follower could read it
  proxy.heal()
  await waitFor(() => seen.gaps === 1, 10_000, 'the gap reported')
  expect(seen.seen.map((e) => e.updates[0]!.update[0])).toEqual([1]) // never 3 without 2
  await waitFor(() => silentClients.isUp(), 10_000, 'up again after the heal')
  subscription.close()
  await follower.close()
  await silentClients.close()
  await proxy.close()
})
