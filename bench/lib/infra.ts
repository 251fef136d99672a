/**
 * Redis and a MongoDB-wire server for cluster and MongoDB runs, started the same way the tests
 * start them (private instances on free ports).
 */
import { startMongoWire, type MongoWire } from '../../test/helpers/mongo-wire.ts'
import { startRedis, type RedisServer } from '../../test/helpers/redis-server.ts'

export interface Infra {
  mongoUrl: string
  redisUrl: string
  stop(): Promise<void>
}

export async function startInfra(): Promise<Infra> {
  const external = process.env.MONGODB_URL
  const mongo: MongoWire | null = external ? null : await startMongoWire()
  const redis: RedisServer = await startRedis()
  return {
    mongoUrl: external ?? mongo!.url,
    redisUrl: redis.url,
    stop: async () => {
      await redis.destroy()
      await mongo?.destroy()
    },
  }
}

export function mongoEnv(infra: Infra, db: string): Record<string, string> {
  return { MONGODB_URL: infra.mongoUrl, MONGODB_DB: db }
}
