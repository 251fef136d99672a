/** Conformance of the settings store (write-once shared values) for every backend. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newId } from '../../shared/ids.ts'
import type { StorageFixture } from './snapshot-conformance.ts'

export function describeSettingsConformance(name: string, open: () => Promise<StorageFixture>): void {
  describe(`SettingsStore conformance: ${name}`, () => {
    let fixture: StorageFixture

    beforeEach(async () => {
      fixture = await open()
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('stores the first value and returns it ever after, without creating again', async () => {
      const { settings } = fixture.storage
      const key = `k-${newId()}`
      expect(await settings.getOrCreate(key, () => 'first')).toBe('first')
      let created = 0
      expect(await settings.getOrCreate(key, () => { created++; return 'second' })).toBe('first')
      expect(created).toBe(0)
    })

    it('keeps keys apart', async () => {
      const { settings } = fixture.storage
      expect(await settings.getOrCreate('a', () => 'value a')).toBe('value a')
      expect(await settings.getOrCreate('b', () => 'value b')).toBe('value b')
      expect(await settings.getOrCreate('a', () => 'other')).toBe('value a')
    })

    it('racing writers all get the one value that was stored', async () => {
      const { settings } = fixture.storage
      const key = `race-${newId()}`
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => settings.getOrCreate(key, () => `writer ${i}`)))
      expect(new Set(results).size).toBe(1)
      expect(results[0]).toMatch(/^writer \d$/)
      expect(await settings.getOrCreate(key, () => 'late')).toBe(results[0])
    })
  })
}
