import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { tempDir } from '../helpers/server.ts'
import { describeAccountsConformance } from './accounts-conformance.ts'
import { describeHistoryConformance } from './history-conformance.ts'
import { describeSettingsConformance } from './settings-conformance.ts'
import { describeSnapshotConformance, type StorageFixture } from './snapshot-conformance.ts'

async function open(): Promise<StorageFixture> {
  const dir = await tempDir()
  const storage = await EmbeddedStorage.open(dir.path)
  return {
    storage,
    cleanup: async () => {
      await storage.close()
      await dir.remove()
    },
  }
}

describeSnapshotConformance('embedded (LevelDB)', open)
describeAccountsConformance('embedded (LevelDB)', open)
describeSettingsConformance('embedded (LevelDB)', open)
describeHistoryConformance('embedded (LevelDB)', open)
