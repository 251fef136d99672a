/** Redis-specific behaviour of the shared stream reader. */
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { LOG_START } from '../../server/log/log-id.ts'
import type { LoggedUpdate } from '../../server/log/types.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import type { LogEntry } from '../../server/log/types.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
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
