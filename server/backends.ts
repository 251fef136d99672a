/** Chooses the storage and log implementations the config asks for. */
import path from 'node:path'
import type { Config } from './config.ts'
import { EmbeddedLog } from './log/embedded-log.ts'
import type { UpdateLog } from './log/types.ts'
import type { Logger } from './logger.ts'
import { EmbeddedStorage } from './storage/embedded/embedded-storage.ts'
import { MongoStorage } from './storage/mongo/mongo-storage.ts'
import type { Storage } from './storage/types.ts'

export async function openStorage(config: Config, logger: Logger): Promise<Storage> {
  if (config.mongodbUrl) {
    return MongoStorage.open({ url: config.mongodbUrl, dbName: config.mongodbDb, timeoutMs: config.mongodbTimeoutMs, logger: logger.child({ module: 'mongodb' }) })
  }
  return EmbeddedStorage.open(config.dataDir)
}

export async function openLog(config: Config): Promise<UpdateLog> {
  return EmbeddedLog.open(path.join(config.dataDir, 'log'), { fsync: config.embeddedFsync })
}
