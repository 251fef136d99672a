import pino from 'pino'
import * as Y from 'yjs'
import { MongoStorage } from '../server/storage/mongo/mongo-storage.ts'
import { PIECE_BYTES } from '../server/collab/folder.ts'
import { encodeSnapshot } from '../server/collab/snapshot-codec.ts'
import { splitUpdate } from '../server/collab/split-update.ts'
import { canvasOfSize } from '../bench/lib/fixtures.ts'
import { rawSync } from '../bench/lib/raw-sync.ts'
import { startOurs } from '../bench/lib/targets.ts'
import { startInfra, mongoEnv } from '../bench/lib/infra.ts'
const infra = await startInfra()
const target = await startOurs({ env: { ROOM_GRACE_MS: '100', LOG_LEVEL: process.env.LL ?? 'warn', ...mongoEnv(infra, 'probe') } })
const [room, empty] = await target.rooms(2)
const storage = await MongoStorage.open({ url: infra.mongoUrl, dbName: 'probe', timeoutMs: 5000, logger: pino({ level: 'silent' }) })
await storage.snapshots.save(room!, encodeSnapshot(splitUpdate(Y.encodeStateAsUpdate(canvasOfSize(160 * 1024)), PIECE_BYTES)), '1-0')
for (let i = 0; i < 3; i++) {
  const a = await rawSync(target.spec, room!); await new Promise((r) => setTimeout(r, 1500))
  const b = await rawSync(target.spec, empty!); await new Promise((r) => setTimeout(r, 1500))
  console.log(`167 KB: first frame ${a.firstFrameMs.toFixed(0)} step2 ${a.step2Ms.toFixed(0)} ms; empty room: first frame ${b.firstFrameMs.toFixed(0)} step2 ${b.step2Ms.toFixed(0)} ms`)
}
await storage.close(); await target.stop(); await infra.stop()
