/** One conformance suite for the history stores (VersionStore, EditStore), run against the embedded store and MongoDB. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newId } from '../../shared/ids.ts'
import { DuplicateError, type EditRecord, type Storage, type VersionRecord } from '../../server/storage/types.ts'
import type { StorageFixture } from './snapshot-conformance.ts'

const freshRoom = (): string => `hist${newId()}/canvas`

function version(room: string, createdAt: number, state: Uint8Array, extra: Partial<VersionRecord> = {}): VersionRecord {
  return { id: newId(), room, createdAt, name: null, authors: ['u1'], bytes: state.length, ...extra }
}

/** Every byte value, so an encoding that mangles any of them shows. */
function allBytes(length = 512): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7) % 256)
}

function edit(room: string, at: number, user: string, deleted: number[] = [0]): EditRecord {
  return { room, at, user, created: [[at, 0, 3], [at + 1, 5, 9]], deleted: Uint8Array.from(deleted) }
}

/** Creates versions at these times (in this order) and returns them. */
async function createAt(storage: Storage, room: string, times: number[], ids: string[] = times.map(() => newId())): Promise<VersionRecord[]> {
  const records = times.map((time, i) => version(room, time, Uint8Array.of(i), { id: ids[i]! }))
  for (const [i, record] of records.entries()) await storage.versions.create(record, Uint8Array.of(i))
  return records
}

const ids = (records: VersionRecord[]): string[] => records.map((r) => r.id)

export function describeHistoryConformance(name: string, open: () => Promise<StorageFixture>): void {
  describe(`VersionStore conformance: ${name}`, () => {
    let fixture: StorageFixture

    beforeEach(async () => {
      fixture = await open()
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('has nothing for an unknown room or id', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      expect(await versions.list(room, { limit: 10 })).toEqual([])
      expect(await versions.all(room)).toEqual([])
      expect(await versions.get(room, newId())).toBeNull()
      expect(await versions.state(room, newId())).toBeNull()
    })

    it('gives back a version and its state exactly as created', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const state = allBytes()
      const named = version(room, 1_700_000_000_123, state, { name: 'Before the party', authors: ['alice', 'bob'] })
      await versions.create(named, state)
      const empty = version(room, 1_700_000_000_124, new Uint8Array(0), { authors: [] })
      await versions.create(empty, new Uint8Array(0))
      expect(await versions.get(room, named.id)).toEqual(named)
      expect(await versions.get(room, empty.id)).toEqual(empty)
      const stored = await versions.state(room, named.id)
      expect(stored).toBeInstanceOf(Uint8Array)
      expect([...stored!]).toEqual([...state])
      expect([...(await versions.state(room, empty.id))!]).toEqual([])
    })

    it('a version that shares another\'s state stores none of its own and reads that one\'s', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const state = allBytes(4096)
      const root = version(room, 1_000, state, { hash: 'h1' })
      await versions.create(root, state)
      const again = version(room, 2_000, state, { name: 'again', hash: 'h1', sameAs: root.id })
      await versions.create(again, state)
      expect(await versions.get(room, again.id)).toEqual(again)
      expect([...(await versions.state(room, again.id))!]).toEqual([...state])
      expect(await versions.state(`other${room}`, again.id)).toBeNull()
      // Gone with the room, both.
      await versions.deleteRoom(room)
      expect(await versions.state(room, again.id)).toBeNull()
    })

    it('lists newest first (equal times by id, descending) and pages with `before` (exclusive)', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const base = newId()
      const [v200b, v100, v300, v200a, v200c] = await createAt(fixture.storage, room, [200, 100, 300, 200, 200], [`${base}-b`, newId(), newId(), `${base}-a`, `${base}-c`])
      expect(ids(await versions.list(room, { limit: 10 }))).toEqual(ids([v300!, v200c!, v200b!, v200a!, v100!]))
      expect(ids(await versions.list(room, { limit: 2 }))).toEqual(ids([v300!, v200c!]))
      expect(ids(await versions.list(room, { limit: 10, before: 300 }))).toEqual(ids([v200c!, v200b!, v200a!, v100!]))
      expect(ids(await versions.list(room, { limit: 2, before: 300 }))).toEqual(ids([v200c!, v200b!]))
      expect(ids(await versions.list(room, { limit: 10, before: 200 }))).toEqual(ids([v100!]))
      expect(ids(await versions.list(room, { limit: 10, before: 201 }))).toEqual(ids([v200c!, v200b!, v200a!, v100!]))
      expect(await versions.list(room, { limit: 10, before: 100 })).toEqual([])
      expect(await versions.list(room, { limit: 0 })).toEqual([])
      expect(await versions.list(room, { limit: 1 })).toEqual([v300])
    })

    it('lists every version oldest first (equal times by id, ascending)', async () => {
      const room = freshRoom()
      const base = newId()
      const [v200b, v100, v300, v200a] = await createAt(fixture.storage, room, [200, 100, 300, 200], [`${base}-b`, newId(), newId(), `${base}-a`])
      expect(ids(await fixture.storage.versions.all(room))).toEqual(ids([v100!, v200a!, v200b!, v300!]))
    })

    it('never answers for a version of another room', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const other = freshRoom()
      const [record] = await createAt(fixture.storage, room, [10])
      expect(await versions.get(other, record!.id)).toBeNull()
      expect(await versions.state(other, record!.id)).toBeNull()
      await versions.delete(other, [record!.id])
      expect(await versions.get(room, record!.id)).toEqual(record)
      expect(await versions.list(other, { limit: 10 })).toEqual([])
    })

    it('rejects a second version with a taken id, in any room, and keeps the first', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const first = version(room, 10, Uint8Array.of(1, 2, 3))
      await versions.create(first, Uint8Array.of(1, 2, 3))
      await expect(versions.create({ ...first, createdAt: 20, name: 'again', bytes: 1 }, Uint8Array.of(9))).rejects.toThrow(DuplicateError)
      await expect(versions.create({ ...first, room: freshRoom(), bytes: 1 }, Uint8Array.of(9))).rejects.toThrow(DuplicateError)
      expect(await versions.get(room, first.id)).toEqual(first)
      expect([...(await versions.state(room, first.id))!]).toEqual([1, 2, 3])
      expect(await versions.all(room)).toEqual([first])
    })

    it('refuses a size that is not the state\'s, and times or limits that are not non-negative integers', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      await expect(versions.create(version(room, 1, Uint8Array.of(1), { bytes: 2 }), Uint8Array.of(1))).rejects.toThrow(RangeError)
      await expect(versions.create(version(room, -1, Uint8Array.of(1)), Uint8Array.of(1))).rejects.toThrow(RangeError)
      await expect(versions.create(version(room, 1.5, Uint8Array.of(1)), Uint8Array.of(1))).rejects.toThrow(RangeError)
      await expect(versions.list(room, { limit: -1 })).rejects.toThrow(RangeError)
      await expect(versions.list(room, { limit: 10, before: Number.NaN })).rejects.toThrow(RangeError)
      expect(await versions.all(room)).toEqual([])
    })

    it('deletes the given versions with their states and ignores unknown ids', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const [a, b, c] = await createAt(fixture.storage, room, [1, 2, 3])
      await versions.delete(room, [a!.id, c!.id, newId()])
      expect(await versions.all(room)).toEqual([b])
      expect(await versions.get(room, a!.id)).toBeNull()
      expect(await versions.state(room, c!.id)).toBeNull()
      expect([...(await versions.state(room, b!.id))!]).toEqual([1])
      await versions.delete(room, [])
      expect(await versions.all(room)).toEqual([b])
    })

    it('deletes one room\'s versions and leaves rooms whose names share its prefix', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const neighbours = [`${room}2`, `${room}!x`, `${room}/x`, room.slice(0, -1)]
      await createAt(fixture.storage, room, [5, 6])
      const kept = await Promise.all(neighbours.map(async (other) => (await createAt(fixture.storage, other, [5]))[0]!))
      await versions.deleteRoom(room)
      expect(await versions.all(room)).toEqual([])
      expect(await versions.list(room, { limit: 10 })).toEqual([])
      for (const [i, other] of neighbours.entries()) {
        expect(await versions.all(other)).toEqual([kept[i]])
        expect(await versions.list(other, { limit: 10 })).toEqual([kept[i]])
        expect([...(await versions.state(other, kept[i]!.id))!]).toEqual([0])
      }
    })

    it('stores states larger than 16 MiB, refuses a duplicate of one without touching it, and deletes it', async () => {
      const { versions } = fixture.storage
      const room = freshRoom()
      const big = new Uint8Array(20 * 1024 * 1024)
      for (let i = 0; i < big.length; i += 4093) big[i] = (i % 251) + 1
      big[big.length - 1] = 7
      const record = version(room, 42, big)
      await versions.create(record, big)
      const other = new Uint8Array(big.length).fill(3)
      await expect(versions.create(record, other)).rejects.toThrow(DuplicateError)
      expect(await versions.list(room, { limit: 1 })).toEqual([record])
      const stored = await versions.state(room, record.id)
      expect(stored!.length).toBe(big.length)
      expect(Buffer.from(stored!.buffer, stored!.byteOffset, stored!.byteLength).equals(big)).toBe(true)
      await versions.delete(room, [record.id])
      expect(await versions.state(room, record.id)).toBeNull()
    })
  })

  describe(`EditStore conformance: ${name}`, () => {
    let fixture: StorageFixture

    beforeEach(async () => {
      fixture = await open()
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('lists a room\'s records oldest first, equal times in append order, bytes exact', async () => {
      const { edits } = fixture.storage
      const room = freshRoom()
      const first = [edit(room, 50, 'a', [1, 2, 255, 0]), edit(room, 30, 'b'), edit(room, 10, 'c', [])]
      const second = [edit(room, 30, 'd', [9, 9]), edit(room, 30, 'e')]
      await edits.append(first)
      await edits.append([])
      await edits.append(second)
      await edits.append([edit(room, 30, 'f')])
      const listed = await edits.list(room, { since: 0 })
      expect(listed.map((r) => r.user)).toEqual(['c', 'b', 'd', 'e', 'f', 'a'])
      expect(listed[5]).toEqual(first[0])
      expect(listed[2]).toEqual(second[0])
      expect(listed[0]!.deleted).toBeInstanceOf(Uint8Array)
      expect([...listed[5]!.deleted]).toEqual([1, 2, 255, 0])
      expect(await edits.list(freshRoom(), { since: 0 })).toEqual([])
    })

    it('bounds a listing by `since` (inclusive) and `until` (exclusive)', async () => {
      const { edits } = fixture.storage
      const room = freshRoom()
      await edits.append([10, 20, 30, 40].map((at) => edit(room, at, `u${at}`)))
      const users = async (options: { since: number; until?: number }) => (await edits.list(room, options)).map((r) => r.user)
      expect(await users({ since: 20 })).toEqual(['u20', 'u30', 'u40'])
      expect(await users({ since: 20, until: 40 })).toEqual(['u20', 'u30'])
      expect(await users({ since: 21, until: 30 })).toEqual([])
      expect(await users({ since: 41 })).toEqual([])
      await expect(edits.list(room, { since: -1 })).rejects.toThrow(RangeError)
      await expect(edits.append([edit(room, 1.5, 'x')])).rejects.toThrow(RangeError)
    })

    it('prunes only the room\'s records older than the bound', async () => {
      const { edits } = fixture.storage
      const room = freshRoom()
      const other = `${room}2`
      await edits.append([edit(room, 10, 'a'), edit(room, 20, 'b'), edit(room, 30, 'c'), edit(other, 10, 'z')])
      await edits.prune(room, 20)
      expect((await edits.list(room, { since: 0 })).map((r) => r.user)).toEqual(['b', 'c'])
      expect((await edits.list(other, { since: 0 })).map((r) => r.user)).toEqual(['z'])
    })

    it('deletes one room\'s records and leaves rooms whose names share its prefix', async () => {
      const { edits } = fixture.storage
      const room = freshRoom()
      const neighbours = [`${room}2`, `${room}!x`, `${room}/x`, room.slice(0, -1)]
      await edits.append([edit(room, 1, 'gone'), ...neighbours.map((other, i) => edit(other, 1, `kept${i}`))])
      await edits.deleteRoom(room)
      expect(await edits.list(room, { since: 0 })).toEqual([])
      for (const [i, other] of neighbours.entries()) expect((await edits.list(other, { since: 0 })).map((r) => r.user)).toEqual([`kept${i}`])
    })

    it('keeps, per room, the newest log id its edits are recorded up to, with the records that reach it', async () => {
      const { edits } = fixture.storage
      const [room, other] = [freshRoom(), freshRoom()]
      expect(await edits.recordedUpTo(room)).toBeNull()
      await edits.append([edit(room, 10, 'a'), edit(room, 20, 'b')], '1700000000000-2')
      await edits.append([edit(other, 10, 'z')], '1700000000009-0')
      await edits.append([edit(room, 30, 'c')]) // no mark: the mark stays
      expect(await edits.recordedUpTo(room)).toBe('1700000000000-2')
      await edits.append([edit(room, 40, 'd')], '1700000000000-10') // numeric order, not string order
      await edits.append([edit(room, 50, 'e')], '1699999999999-99') // a lagging node's fold: not backwards
      expect(await edits.recordedUpTo(room)).toBe('1700000000000-10')
      await edits.append([], '1800000000000-0') // nothing recorded, nothing marked
      expect(await edits.recordedUpTo(room)).toBe('1700000000000-10')
      expect(await edits.recordedUpTo(other)).toBe('1700000000009-0')
      await edits.deleteRoom(room)
      expect(await edits.recordedUpTo(room)).toBeNull()
      expect(await edits.recordedUpTo(other)).toBe('1700000000009-0')
    })
  })
}
