import { describe, expect, inject, it } from 'vitest'
import { Binary, MongoClient } from 'mongodb'
import pino from 'pino'
import { sortableLogId } from '../../server/log/log-id.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { describeAccountsConformance } from './accounts-conformance.ts'
import { describeHistoryConformance } from './history-conformance.ts'
import { describeSettingsConformance } from './settings-conformance.ts'
import { describeSnapshotConformance, type StorageFixture } from './snapshot-conformance.ts'

async function open(): Promise<StorageFixture> {
  const url = inject('mongoUrl')
  const dbName = uniqueDbName()
  const storage = await MongoStorage.open({ url, dbName, timeoutMs: 5_000, logger: pino({ level: 'silent' }) })
  return {
    storage,
    cleanup: async () => {
      await storage.close()
      const client = await MongoClient.connect(url)
      await client.db(dbName).dropDatabase()
      await client.close()
    },
  }
}

describeSnapshotConformance('MongoDB', open)
describeAccountsConformance('MongoDB', open)
describeSettingsConformance('MongoDB', open)
describeHistoryConformance('MongoDB', open)

/** Snapshots bigger than 1 MiB go in 1 MiB chunks, one write each; what earlier releases wrote inline or in 8 MiB chunks reads the same. */
describe('MongoDB snapshots in chunks', () => {
  const room = 'AAAAAAAAAAAAAAAAAAAAAA/canvas'
  const MiB = 1024 * 1024
  const bytesOf = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed + (i >> 20)) % 251)

  it('writes a 3.5 MiB snapshot as four chunks and loads it whole; an earlier release\'s inline and 8 MiB-chunk snapshots load too', async () => {
    const url = inject('mongoUrl')
    const dbName = uniqueDbName()
    const storage = await MongoStorage.open({ url, dbName, timeoutMs: 5_000, logger: pino({ level: 'silent' }) })
    const client = await MongoClient.connect(url)
    try {
      const big = bytesOf(3.5 * MiB, 1)
      await storage.snapshots.save(room, big, '5-0')
      const db = client.db(dbName)
      expect(await db.collection('snapshot_chunks').countDocuments({ room })).toBe(4)
      expect(Buffer.from((await storage.snapshots.load(room))!.update).equals(Buffer.from(big))).toBe(true)

      const inline = bytesOf(2 * MiB, 2)
      await db.collection<{ _id: string; [field: string]: unknown }>('snapshots').insertOne({ _id: `old/chat@${sortableLogId('3-0')}`, room: 'old/chat', wm: sortableLogId('3-0'), savedAt: 1, size: inline.length, data: new Binary(inline) })
      expect(Buffer.from((await storage.snapshots.load('old/chat'))!.update).equals(Buffer.from(inline))).toBe(true)

      const chunked = bytesOf(9 * MiB, 3)
      const wm = sortableLogId('4-0')
      await db.collection<{ _id: string; [field: string]: unknown }>('snapshot_chunks').insertMany([0, 1].map((i) => ({ _id: `old/canvas@${wm}#${i}`, room: 'old/canvas', wm, i, data: new Binary(chunked.subarray(i * 8 * MiB, (i + 1) * 8 * MiB)) })))
      await db.collection<{ _id: string; [field: string]: unknown }>('snapshots').insertOne({ _id: `old/canvas@${wm}`, room: 'old/canvas', wm, savedAt: 1, size: chunked.length, chunks: 2 })
      expect(Buffer.from((await storage.snapshots.load('old/canvas'))!.update).equals(Buffer.from(chunked))).toBe(true)
    } finally {
      await client.close()
      await storage.close()
    }
  })
})
