import pino from 'pino'
import { afterAll, beforeAll } from 'vitest'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import type { UpdateLog } from '../../server/log/types.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { describeLogConformance } from './conformance.ts'

let redis: RedisServer
const logger = pino({ level: 'silent' })

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.destroy()
})

async function open(): Promise<UpdateLog & { clients: RedisClients }> {
  const clients = await RedisClients.connect(redis.url, logger)
  const log = new RedisLog(clients, { prefix: 'conformance:', minEntryAgeMs: 0, logger })
  return Object.assign(log, { clients })
}

describeLogConformance('Redis Streams', async () => {
  let log = await open()
  const close = async (): Promise<void> => {
    await log.close()
    await log.clients.close()
  }
  return {
    log,
    reopen: async () => {
      await close()
      log = await open()
      return log
    },
    cleanup: close,
  }
})
