/** Chooses the storage implementation the config asks for (the log comes with the cluster). */
import type { BackgroundFailures } from './background-loop.ts'
import type { Config } from './config.ts'
import type { Logger } from './logger.ts'
import { EmbeddedStorage } from './storage/embedded/embedded-storage.ts'
import { MongoStorage } from './storage/mongo/mongo-storage.ts'
import type { Storage } from './storage/types.ts'

export async function openStorage(config: Config, logger: Logger, failures: BackgroundFailures): Promise<Storage> {
  if (config.mongodbUrl) {
    return MongoStorage.open({ url: config.mongodbUrl, dbName: config.mongodbDb, timeoutMs: config.mongodbTimeoutMs, logger: logger.child({ module: 'mongodb' }), failures })
  }
  return EmbeddedStorage.open(config.dataDir)
}
