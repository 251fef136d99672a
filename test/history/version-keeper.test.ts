/**
 * Automatic versions on schedule, thinned by the retention rule as they age, with their authors;
 * named versions kept whatever their age. Real storage, a clock the test moves.
 */
import pino from 'pino'
import { afterEach, beforeEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke } from '../../shared/canvas.ts'
import { parseRetention } from '../../server/history/retention.ts'
import { VersionKeeper } from '../../server/history/version-keeper.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { EmbeddedStorage } from '../../server/storage/embedded/embedded-storage.ts'
import { tempDir } from '../helpers/server.ts'

const H = 3_600_000
const ROOM = 'KeeperGroup00000000000/canvas'
let dir: Awaited<ReturnType<typeof tempDir>>
let storage: EmbeddedStorage
let now: number
let keeper: VersionKeeper

beforeEach(async () => {
  dir = await tempDir()
  storage = await EmbeddedStorage.open(dir.path)
  now = Date.UTC(2026, 10, 1, 0, 30)
  keeper = new VersionKeeper({ versions: storage.versions, edits: storage.edits, snapshots: storage.snapshots, intervalMs: 10 * 60_000, retention: parseRetention('1d,30d'), logger: pino({ level: 'silent' }), now: () => now })
})

afterEach(async () => {
  keeper.close()
  await storage.close()
  await dir.remove()
})

/** One compaction: `user` drew something at `at`, and the snapshot is saved. */
async function compaction(user: string, at = now): Promise<void> {
  const doc = new Y.Doc()
  addStroke(doc, { author: user, color: '#123456', width: 1, tool: 'pen', points: [[1, 1]] })
  const update = Y.encodeStateAsUpdate(doc)
  await keeper.recordEdits(ROOM, [{ at, writer: user, update, info: updateInfo(update) }])
  await keeper.afterSnapshot(ROOM, update)
}

it('keeps a version per interval at most, naming who edited since the previous one', async () => {
  await compaction('ann')
  now += 5 * 60_000
  await compaction('bob') // too soon for another version
  now += 6 * 60_000
  await compaction('cy')
  const versions = await storage.versions.all(ROOM)
  expect(versions.map((v) => v.authors.sort())).toEqual([['ann'], ['bob', 'cy']])
})

it('thins automatic versions with age: all for a day, hourly for 30 days, daily after; named ones stay', async () => {
  await keeper.keep(ROOM, new Uint8Array([0, 0]), 'Named, early')
  for (let i = 0; i < 6 * 24; i++) { // a version every 10 minutes for a day
    now += 10 * 60_000
    await compaction('ann')
  }
  const dayOld = await storage.versions.all(ROOM)
  expect(dayOld.filter((v) => v.name === null)).toHaveLength(6 * 24) // nothing is a day old yet
  now += 2 * H
  await compaction('ann')
  const thinned = (await storage.versions.all(ROOM)).filter((v) => v.name === null)
  const olderThanADay = thinned.filter((v) => now - v.createdAt >= 24 * H)
  expect(new Set(olderThanADay.map((v) => Math.floor(v.createdAt / H))).size).toBe(olderThanADay.length) // one an hour
  expect(olderThanADay.length).toBeGreaterThan(0)
  now += 40 * 24 * H
  await compaction('ann')
  const old = (await storage.versions.all(ROOM)).filter((v) => v.name === null && now - v.createdAt >= 30 * 24 * H)
  expect(new Set(old.map((v) => Math.floor(v.createdAt / (24 * H)))).size).toBe(old.length) // one a day
  expect(old.length).toBeLessThanOrEqual(2) // that first day spans two calendar days
  expect((await storage.versions.all(ROOM)).filter((v) => v.name !== null).map((v) => v.name)).toEqual(['Named, early'])
})

it('keeps the latest snapshot as a version once the interval has passed, with no compaction after it', async () => {
  now = Date.now()
  keeper = new VersionKeeper({ versions: storage.versions, edits: storage.edits, snapshots: storage.snapshots, intervalMs: 1_000, retention: parseRetention('1d,30d'), logger: pino({ level: 'silent' }) })
  await compaction('ann', Date.now())
  const doc = new Y.Doc()
  addStroke(doc, { author: 'bob', color: '#654321', width: 1, tool: 'pen', points: [[2, 2]] })
  await storage.snapshots.save(ROOM, Y.encodeStateAsUpdate(doc), '5-0')
  await compaction('bob', Date.now() + 1) // too soon: falls due in a second
  expect(await storage.versions.all(ROOM)).toHaveLength(1)
  const deadline = Date.now() + 10_000
  while ((await storage.versions.all(ROOM)).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  expect((await storage.versions.all(ROOM)).at(-1)?.authors).toEqual(['bob'])
})
