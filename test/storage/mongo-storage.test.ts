import { inject } from 'vitest'
import { MongoClient } from 'mongodb'
import pino from 'pino'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { describeAccountsConformance } from './accounts-conformance.ts'
import { describeHistoryConformance } from './history-conformance.ts'
import { describeSettingsConformance } from './settings-conformance.ts'
import { describeSnapshotConformance, type StorageFixture } from './snapshot-conformance.ts'

async function open(): Promise<StorageFixture> {
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

describeSnapshotConformance('MongoDB', open)
describeAccountsConformance('MongoDB', open)
describeSettingsConformance('MongoDB', open)
describeHistoryConformance('MongoDB', open)
