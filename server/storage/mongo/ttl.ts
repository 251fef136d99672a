/**
 * Expiring records (invites, sessions) carry a Date `expiresAt` with a TTL index, so MongoDB
 * deletes them. Reads check the expiry themselves anyway, and on a MongoDB-compatible server
 * without TTL indexes a periodic purge does the deleting.
 */
import type { Collection, Db, Document } from 'mongodb'
import type { Logger } from '../../logger.ts'
import { isNotImplemented } from './mongo-errors.ts'

const PURGE_INTERVAL_MS = 10 * 60_000

export async function ensureTtl(db: Db, name: string, logger: Logger): Promise<NodeJS.Timeout | null> {
  const collection = db.collection(name)
  try {
    await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
    return null
  } catch (error) {
    if (!isNotImplemented(error)) throw error
    logger.warn({ collection: name }, 'server has no TTL indexes; purging expired records periodically')
    await collection.createIndex({ expiresAt: 1 })
    const timer = setInterval(() => void purge(collection, logger), PURGE_INTERVAL_MS)
    timer.unref()
    return timer
  }
}

async function purge(collection: Collection<Document>, logger: Logger): Promise<void> {
  try {
    await collection.deleteMany({ expiresAt: { $lt: new Date() } })
  } catch (error) {
    logger.warn({ err: error, collection: collection.collectionName }, 'purging expired records failed')
  }
}
