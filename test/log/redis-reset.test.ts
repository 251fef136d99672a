/** A Redis without persistence that restarts comes back empty; the log says so (onReset). */
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { waitFor } from '../helpers/wait.ts'

const logger = pino({ level: 'silent' })
let redis: RedisServer
let clients: RedisClients
let log: RedisLog

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
  clients = await RedisClients.connect(redis.url, logger)
  log = new RedisLog(clients, { prefix: 'reset:', minEntryAgeMs: 0, logger })
})

afterAll(async () => {
  await log.close()
  await clients.close()
  await redis.destroy()
})

it('reports a Redis that came back without its data, and not a plain reconnect', async () => {
  let resets = 0
  log.onReset(() => resets++)
  await log.append('reset/canvas', [{ writer: 'w', update: new Uint8Array([1]) }])
  await waitFor(async () => (await clients.cmd.get('reset:epoch')) !== null)
  await clients.cmd.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']) // reconnect, data kept
  await waitFor(() => clients.isUp(), 10_000)
  await log.append('reset/canvas', [{ writer: 'w', update: new Uint8Array([2]) }])
  expect(resets).toBe(0)
  await redis.stop('SIGKILL')
  await redis.start()
  await waitFor(() => resets === 1, 15_000, 'the reset reported')
  expect(await log.size('reset/canvas')).toBe(0)
}, 30_000)
