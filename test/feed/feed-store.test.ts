/** The feed and webhook stores' conformance suite on the embedded store and on the MongoDB-wire server. */
import { inject } from 'vitest'
import { MongoClient } from 'mongodb'
import pino from 'pino'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { tempDir } from '../helpers/server.ts'
import type { StorageFixture } from '../storage/snapshot-conformance.ts'
import { describeFeedConformance } from './feed-conformance.ts'

async function openEmbedded(): Promise<StorageFixture> {
  const dir = await tempDir()
  const storage = await EmbeddedStorage.open(dir.path)
  return { storage, cleanup: async () => { await storage.close(); await dir.remove() } }
}

async function openMongo(): Promise<StorageFixture> {
  const url = inject('mongoUrl')
  const dbName = uniqueDbName()
  const storage = await MongoStorage.open({ url, dbName, timeoutMs: 5_000, logger: pino({ level: 'silent' }) })
  return {
    storage,
    cleanup: async () => {
      await storage.close()
      const client = await MongoClient.connect(url)
      await client.db(dbName).dropDatabase()
      await client.close()
    },
  }
}

describeFeedConformance('embedded (LevelDB)', openEmbedded)
describeFeedConformance('MongoDB', openMongo)
