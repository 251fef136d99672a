/** Chooses the storage and log implementations the config asks for. */
import path from 'node:path'
import type { Config } from './config.ts'
import { EmbeddedLog } from './log/embedded-log.ts'
import type { UpdateLog } from './log/types.ts'
import { EmbeddedStorage } from './storage/embedded/embedded-storage.ts'
import type { Storage } from './storage/types.ts'

export async function openStorage(config: Config): Promise<Storage> {
  return EmbeddedStorage.open(config.dataDir)
}

export async function openLog(config: Config): Promise<UpdateLog> {
  return EmbeddedLog.open(path.join(config.dataDir, 'log'), { fsync: config.embeddedFsync })
}
