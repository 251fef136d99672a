import { KeyedMutex } from '../keyed-mutex.ts'
import type { SettingsStore } from '../types.ts'
import { jsonLevel, type JsonLevel } from './json-level.ts'
import type { LevelDb } from './level.ts'

/** `settings`: key → value. One process owns the store, so a per-key mutex makes it write-once. */
export class EmbeddedSettings implements SettingsStore {
  private readonly settings: JsonLevel<string>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.settings = jsonLevel(db, 'settings')
  }

  getOrCreate(key: string, create: () => string): Promise<string> {
    return this.mutex.run(key, async () => {
      const stored = await this.settings.get(key)
      if (stored !== undefined) return stored
      const value = create()
      await this.settings.put(key, value)
      return value
    })
  }
}
