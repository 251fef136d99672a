import path from 'node:path'
import { EmbeddedLog } from '../../server/log/embedded-log.ts'
import type { UpdateLog } from '../../server/log/types.ts'
import { tempDir } from '../helpers/server.ts'
import { describeLogConformance } from './conformance.ts'

describeLogConformance('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  const location = path.join(dir.path, 'log')
  let log: UpdateLog = await EmbeddedLog.open(location, { fsync: false })
  return {
    log,
    reopen: async () => {
      await log.close()
      log = await EmbeddedLog.open(location, { fsync: false })
      return log
    },
    cleanup: async () => {
      await log.close()
      await dir.remove()
    },
  }
})
