/**
 * What one find costs on a MongoDB-wire server as a collection's documents grow, by the kind of
 * filter our stores use: a field with an index (`{room}`, sorted by watermark, as a snapshot
 * load asks) against `_id`. On MongoDB both are index lookups; a server that scans the
 * collection instead (FerretDB v1 on SQLite decodes every document for a filter on any field but
 * `_id`) pays for every byte stored, which is what made the two-node soak (figure 10) fail
 * sessions as its documents grew. Prints milliseconds per find.
 *
 *   MONGODB_URL=mongodb://127.0.0.1:27017 node bench/probes/mongo-find-cost.ts
 */
import { Binary, MongoClient } from 'mongodb'

const url = process.env.MONGODB_URL
if (!url) throw new Error('set MONGODB_URL to a MongoDB-wire server')
const SHAPES: Array<[docs: number, bytes: number]> = [[150, 1_000], [150, 50_000], [600, 50_000]]
const FINDS = 20

const client = new MongoClient(url)
await client.connect()
const db = client.db(`find_cost_${Date.now()}`)
const collection = db.collection<{ _id: string; room: string; wm: string; data: Binary }>('docs')
await collection.createIndex({ room: 1, wm: -1 })

async function msPerFind(find: (i: number) => Promise<unknown>): Promise<string> {
  const started = performance.now()
  for (let i = 0; i < FINDS; i++) await find(i)
  return ((performance.now() - started) / FINDS).toFixed(1)
}

try {
  for (const [docs, bytes] of SHAPES) {
    await collection.deleteMany({})
    await collection.insertMany(Array.from({ length: docs }, (_, i) => ({ _id: `r${i}@1`, room: `r${i}`, wm: '1', data: new Binary(Buffer.alloc(bytes, i)) })))
    const byField = await msPerFind((i) => collection.find({ room: `r${i % docs}` }).sort({ wm: -1 }).limit(1).toArray())
    const byId = await msPerFind((i) => collection.find({ _id: `r${i % docs}@1` }).toArray())
    process.stdout.write(`${docs} documents of ${bytes} bytes: {room} sorted ${byField} ms, {_id} ${byId} ms per find\n`)
  }
} finally {
  await db.dropDatabase()
  await client.close()
}
