import pino from 'pino'
import * as Y from 'yjs'
import { MongoStorage } from '../server/storage/mongo/mongo-storage.ts'
import { encodeSnapshot } from '../server/collab/snapshot-codec.ts'
import { splitUpdate } from '../server/collab/split-update.ts'
import { PIECE_BYTES } from '../server/collab/folder.ts'
import { canvasOfSize } from '../bench/lib/fixtures.ts'
import { startInfra } from '../bench/lib/infra.ts'
const infra = await startInfra()
const storage = await MongoStorage.open({ url: infra.mongoUrl, dbName: 'probe', timeoutMs: 5000, logger: pino({ level: 'silent' }) })
for (const size of [160 * 1024, 2 * 1024 * 1024]) {
  const room = `room-${size}`
  await storage.snapshots.save(room, encodeSnapshot(splitUpdate(Y.encodeStateAsUpdate(canvasOfSize(size)), PIECE_BYTES)), '1-0')
  for (let i = 0; i < 3; i++) {
    let t = performance.now(); await storage.snapshots.load(room); const load = performance.now() - t
    t = performance.now(); await storage.snapshots.watermark(room); const wm = performance.now() - t
    console.log(`${size}: load ${load.toFixed(1)} ms, watermark ${wm.toFixed(1)} ms`)
  }
}
await storage.close(); await infra.stop()
