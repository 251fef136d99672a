import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { tempDir } from '../helpers/server.ts'
import { describeSnapshotConformance } from './snapshot-conformance.ts'

describeSnapshotConformance('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  const storage = await EmbeddedStorage.open(dir.path)
  return {
    storage,
    cleanup: async () => {
      await storage.close()
      await dir.remove()
    },
  }
})
