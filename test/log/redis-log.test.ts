import pino from 'pino'
import { createClient } from '@redis/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { LOG_START } from '../../server/log/log-id.ts'
import { AppendRefusedError, type UpdateLog } from '../../server/log/types.ts'
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

it('says when Redis refused an append outright (out of memory): nothing was written, unlike an append whose outcome is unknown', async () => {
  const log = await open()
  const admin = createClient({ url: redis.url })
  await admin.connect()
  try {
    await admin.configSet('maxmemory', '1')
    const update = { writer: 'ann', update: new Uint8Array([0, 0]) }
    await expect(log.append('refused/room', [update])).rejects.toBeInstanceOf(AppendRefusedError)
    await admin.configSet('maxmemory', '0')
    expect(await log.read('refused/room', LOG_START, 10)).toEqual([])
  } finally {
    await admin.configSet('maxmemory', '0')
    await admin.close()
    await log.close()
    await log.clients.close()
  }
})
