/**
 * Big embedded snapshots are written in chunks, a chunk per LevelDB write (one 10 MiB value stalled
 * the event loop for ~100 ms, copied whole on its thread), and switched to in one batch.
 */
import path from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { decodeSnapshotParts } from '../../server/collab/compaction/snapshot-codec.ts'
import { UnknownFormatError } from '../../server/collab/wire/bounded-reader.ts'
import { sortableLogId } from '../../server/log/log-id.ts'
import { CHUNK_BYTES, EmbeddedSnapshots } from '../../server/storage/embedded/snapshots.ts'
import { openLevel, prefixRange, type LevelDb } from '../../server/storage/embedded/level.ts'
import { tempDir } from '../helpers/server.ts'

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAA/canvas'
let db: LevelDb
let snapshots: EmbeddedSnapshots
let removeDir: () => Promise<void>

beforeEach(async () => {
  const dir = await tempDir()
  removeDir = dir.remove
  db = await openLevel(path.join(dir.path, 'db'))
  snapshots = new EmbeddedSnapshots(db)
})

afterEach(async () => {
  await db.close()
  await removeDir()
})

/** Bytes that differ from chunk to chunk, so a chunk out of place or missing shows. */
function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed + Math.floor(i / CHUNK_BYTES)) % 251)
}

async function keysOf(prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const key of db.keys(prefixRange(prefix))) keys.push(key)
  return keys
}

it('keeps a snapshot bigger than a chunk in chunks, and loads it whole', async () => {
  const big = bytesOf(2 * CHUNK_BYTES + 17, 1)
  await snapshots.save(ROOM, big, '5-0')
  expect(await keysOf(`chunk!${ROOM}!`)).toHaveLength(3)
  // A release before chunks reads only `data!`: it must refuse the room, not load it as empty.
  const stub = await db.get(`data!${ROOM}`)
  expect(() => decodeSnapshotParts(stub!)).toThrow(UnknownFormatError)
  const loaded = await snapshots.load(ROOM)
  expect(loaded?.watermark).toBe('5-0')
  expect(Buffer.from(loaded!.update).equals(Buffer.from(big))).toBe(true)
})

it('removes the chunks of the snapshot it replaces, chunked or whole', async () => {
  await snapshots.save(ROOM, bytesOf(3 * CHUNK_BYTES, 1), '5-0')
  const next = bytesOf(CHUNK_BYTES + 1, 2)
  await snapshots.save(ROOM, next, '6-0')
  expect(await keysOf(`chunk!${ROOM}!`)).toEqual([`chunk!${ROOM}!${sortableLogId('6-0')}!000000`, `chunk!${ROOM}!${sortableLogId('6-0')}!000001`])
  const small = bytesOf(100, 3)
  await snapshots.save(ROOM, small, '7-0')
  expect(await keysOf(`chunk!${ROOM}!`)).toEqual([])
  expect([...(await snapshots.load(ROOM))!.update]).toEqual([...small])
})

it('a save cut short between its chunks and its switch leaves the previous snapshot whole; the next save removes the strays', async () => {
  const first = bytesOf(2 * CHUNK_BYTES + 5, 1)
  await snapshots.save(ROOM, first, '5-0')
  // What a process killed mid-save leaves: chunks of a newer generation, the meta not switched.
  await db.put(`chunk!${ROOM}!${sortableLogId('9-0')}!000000`, bytesOf(CHUNK_BYTES, 9))
  const loaded = await snapshots.load(ROOM)
  expect(loaded?.watermark).toBe('5-0')
  expect(Buffer.from(loaded!.update).equals(Buffer.from(first))).toBe(true)
  await snapshots.save(ROOM, bytesOf(2 * CHUNK_BYTES, 2), '6-0')
  expect((await keysOf(`chunk!${ROOM}!`)).every((key) => key.includes(`!${sortableLogId('6-0')}!`))).toBe(true)
})

it('loads during saves see one snapshot whole, never a mix or missing chunks', async () => {
  const versions = [1, 2, 3, 4].map((seed) => bytesOf(3 * CHUNK_BYTES + seed, seed))
  await snapshots.save(ROOM, versions[0]!, '1-0')
  const saves = versions.slice(1).map((bytes, i) => snapshots.save(ROOM, bytes, `${i + 2}-0`))
  const loads = Array.from({ length: 6 }, () => snapshots.load(ROOM))
  await Promise.all(saves)
  for (const loaded of await Promise.all(loads)) {
    const expected = versions[Number(loaded!.watermark.split('-')[0]) - 1]!
    expect(Buffer.from(loaded!.update).equals(Buffer.from(expected))).toBe(true)
  }
})

it('reads a snapshot an earlier release stored whole, however big, and a room other rooms share a prefix with stays apart', async () => {
  const legacy = bytesOf(2 * CHUNK_BYTES, 4)
  await db.batch([
    { type: 'put', key: `data!${ROOM}`, value: legacy },
    { type: 'put', key: `meta!${ROOM}`, value: new TextEncoder().encode(JSON.stringify({ watermark: '3-0', savedAt: 1 })) },
  ])
  await snapshots.save(`${ROOM}2`, bytesOf(2 * CHUNK_BYTES, 5), '4-0')
  expect(Buffer.from((await snapshots.load(ROOM))!.update).equals(Buffer.from(legacy))).toBe(true)
  await snapshots.delete(`${ROOM}2`)
  expect(await snapshots.load(`${ROOM}2`)).toBeNull()
  expect(await keysOf('chunk!')).toEqual([])
  expect((await snapshots.load(ROOM))?.watermark).toBe('3-0')
})
