/**
 * Expiring records (invites, sessions) carry a Date `expiresAt` with a TTL index, so MongoDB
 * deletes them. Reads check the expiry themselves anyway, and on a MongoDB-compatible server
 * without TTL indexes a periodic purge does the deleting (a background loop: a failed purge is
 * logged, counted and retried, never an unhandled rejection).
 */
import type { Collection, Db, Document } from 'mongodb'
import { BackgroundLoop, type BackgroundFailures } from '../../background-loop.ts'
import type { Logger } from '../../logger.ts'
import { isNotImplemented } from './mongo-errors.ts'

const PURGE_INTERVAL_MS = 10 * 60_000
const PURGE_RETRY_MS = 10_000

/** Creates the TTL index, or (without TTL support) starts and returns the purge loop. */
export async function ensureTtl(db: Db, name: string, logger: Logger, failures: BackgroundFailures): Promise<BackgroundLoop | null> {
  const collection = db.collection(name)
  try {
    await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
    return null
  } catch (error) {
    if (!isNotImplemented(error)) throw error
    logger.warn({ collection: name }, 'server has no TTL indexes; purging expired records periodically')
    await collection.createIndex({ expiresAt: 1 })
    return new BackgroundLoop(() => purge(collection), { name: `purge-${name}`, everyMs: PURGE_INTERVAL_MS, retryMs: PURGE_RETRY_MS, logger, failures }).start()
  }
}

async function purge(collection: Collection<Document>): Promise<void> {
  await collection.deleteMany({ expiresAt: { $lt: new Date() } })
}
