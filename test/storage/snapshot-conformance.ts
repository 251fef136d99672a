/** One conformance suite for SnapshotStore, run against the embedded store and MongoDB. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Storage } from '../../server/storage/types.ts'

export interface StorageFixture {
  storage: Storage
  cleanup(): Promise<void>
}

let counter = 0
const freshRoom = (): string => `snapconf${Date.now().toString(36)}${counter++}/canvas`

export function describeSnapshotConformance(name: string, open: () => Promise<StorageFixture>): void {
  describe(`SnapshotStore conformance: ${name}`, () => {
    let fixture: StorageFixture

    beforeEach(async () => {
      fixture = await open()
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('has nothing for an unknown room', async () => {
      const room = freshRoom()
      expect(await fixture.storage.snapshots.load(room)).toBeNull()
      expect(await fixture.storage.snapshots.watermark(room)).toBeNull()
    })

    it('stores and loads a snapshot with its watermark', async () => {
      const room = freshRoom()
      expect(await fixture.storage.snapshots.save(room, new Uint8Array([1, 2, 3]), '5-0')).toBe(true)
      const loaded = await fixture.storage.snapshots.load(room)
      expect([...loaded!.update]).toEqual([1, 2, 3])
      expect(loaded!.watermark).toBe('5-0')
      expect(await fixture.storage.snapshots.watermark(room)).toBe('5-0')
    })

    it('never lets an older or equal watermark overwrite a newer one (ids compare numerically)', async () => {
      const room = freshRoom()
      const { snapshots } = fixture.storage
      expect(await snapshots.save(room, new Uint8Array([1]), '10-0')).toBe(true)
      expect(await snapshots.save(room, new Uint8Array([2]), '9-5')).toBe(false)
      expect(await snapshots.save(room, new Uint8Array([3]), '10-0')).toBe(false)
      expect([...(await snapshots.load(room))!.update]).toEqual([1])
      expect(await snapshots.save(room, new Uint8Array([4]), '10-1')).toBe(true)
      expect(await snapshots.save(room, new Uint8Array([5]), '100-0')).toBe(true)
      expect([...(await snapshots.load(room))!.update]).toEqual([5])
    })

    it('keeps the newest when many writers race', async () => {
      const room = freshRoom()
      const watermarks = Array.from({ length: 12 }, (_, i) => `${1000 + ((i * 7) % 12)}-0`)
      await Promise.all(watermarks.map((w, i) => fixture.storage.snapshots.save(room, new Uint8Array([i]), w)))
      const loaded = await fixture.storage.snapshots.load(room)
      expect(loaded!.watermark).toBe('1011-0')
      expect([...loaded!.update]).toEqual([watermarks.indexOf('1011-0')])
    })

    it('stores snapshots larger than 16 MiB', async () => {
      const room = freshRoom()
      const big = new Uint8Array(20 * 1024 * 1024)
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
      expect(await fixture.storage.snapshots.save(room, big, '1-0')).toBe(true)
      const loaded = await fixture.storage.snapshots.load(room)
      expect(loaded!.update.length).toBe(big.length)
      expect(Buffer.from(loaded!.update).equals(Buffer.from(big))).toBe(true)
      expect(await fixture.storage.snapshots.save(room, new Uint8Array([9]), '2-0')).toBe(true)
      expect([...(await fixture.storage.snapshots.load(room))!.update]).toEqual([9])
    })

    it('loads during saves of chunked snapshots return one snapshot whole, never a mix or a missing chunk', async () => {
      const room = freshRoom()
      const { snapshots } = fixture.storage
      const versions = [1, 2, 3, 4].map((seed) => Uint8Array.from({ length: 2.5 * 1024 * 1024 }, (_, i) => (i * 13 + seed + (i >> 18)) % 251))
      await snapshots.save(room, versions[0]!, '1-0')
      const saves = versions.slice(1).map((bytes, i) => snapshots.save(room, bytes, `${i + 2}-0`))
      const loads = Array.from({ length: 6 }, () => snapshots.load(room))
      await Promise.all(saves)
      for (const loaded of await Promise.all(loads)) {
        const expected = versions[Number(loaded!.watermark.split('-')[0]) - 1]!
        expect(Buffer.from(loaded!.update).equals(Buffer.from(expected))).toBe(true)
      }
    })

    it('deletes a room\'s snapshot', async () => {
      const room = freshRoom()
      await fixture.storage.snapshots.save(room, new Uint8Array([1]), '1-0')
      await fixture.storage.snapshots.delete(room)
      expect(await fixture.storage.snapshots.load(room)).toBeNull()
    })
  })
}
