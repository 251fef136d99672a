/**
 * Scripts run by SHA1, with their text sent only when Redis does not know them: after SCRIPT
 * FLUSH (as after a Redis restart) the next run still works, and the one after is by SHA again.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RedisClient } from '../../server/cluster/redis-clients.ts'
import { RedisScript } from '../../server/log/redis-script.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'

let redis: RedisServer
let client: RedisClient

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
  client = createClient({ url: redis.url, disableOfflineQueue: true }) as RedisClient
  await client.connect()
}, 30_000)

afterAll(async () => {
  await client?.quit()
  await redis?.destroy()
})

async function evalCalls(): Promise<{ eval: number; evalsha: number }> {
  const info = await client.info('commandstats')
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  return { eval: calls('eval'), evalsha: calls('evalsha') }
}

it('runs by SHA once Redis has the script, and sends the text again after SCRIPT FLUSH', async () => {
  const script = new RedisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
  const run = (by: number) => script.run(client, { keys: ['counter'], arguments: [String(by)] })
  const start = await evalCalls()
  expect(await run(2)).toBe(2)
  expect(await run(3)).toBe(5)
  await client.scriptFlush()
  expect(await run(4)).toBe(9)
  expect(await run(1)).toBe(10)
  const end = await evalCalls()
  expect(end.eval - start.eval, 'the text sent once per Redis that lacked it').toBe(2)
  expect(end.evalsha - start.evalsha, 'every run tries its SHA first').toBe(4)
})

it('passes other errors on', async () => {
  const script = new RedisScript(`return redis.error_reply('BROKEN on purpose')`)
  await expect(script.run(client, {})).rejects.toThrow(/BROKEN on purpose/)
})
