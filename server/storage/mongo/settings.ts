import type { Collection, Db } from 'mongodb'
import type { SettingsStore } from '../types.ts'
import { isDuplicateKey } from './mongo-errors.ts'

interface SettingDoc {
  _id: string
  value: string
  createdAt: number
}

/**
 * `settings`: `_id` = key. The first insert wins (the `_id` index is unique); a node that loses
 * the race reads the winner's value. No conditional update is needed, which FerretDB lacks.
 */
export class MongoSettings implements SettingsStore {
  private readonly settings: Collection<SettingDoc>

  constructor(db: Db) {
    this.settings = db.collection<SettingDoc>('settings')
  }

  async getOrCreate(key: string, create: () => string): Promise<string> {
    const stored = await this.settings.findOne({ _id: key })
    if (stored) return stored.value
    const value = create()
    try {
      await this.settings.insertOne({ _id: key, value, createdAt: Date.now() })
      return value
    } catch (error) {
      if (!isDuplicateKey(error)) throw error
    }
    const winner = await this.settings.findOne({ _id: key })
    if (!winner) throw new Error(`setting ${key} vanished after a duplicate insert`)
    return winner.value
  }
}
