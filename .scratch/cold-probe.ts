// One cold load of a 10 MiB room on a running server, with the server's own event-loop max delay.
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { EmbeddedStorage } from '../server/storage/embedded/embedded-storage.ts'
import { PIECE_BYTES } from '../server/collab/folder.ts'
import { encodeSnapshot } from '../server/collab/snapshot-codec.ts'
import { splitUpdate } from '../server/collab/split-update.ts'
import { canvasOfSize } from '../bench/lib/fixtures.ts'
import { rawSync } from '../bench/lib/raw-sync.ts'
import { startOurs } from '../bench/lib/targets.ts'

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'probe-'))
let target = await startOurs({ dataDir, env: { ROOM_GRACE_MS: '100' } })
const [room] = await target.rooms(1)
await target.stop()
const storage = await EmbeddedStorage.open(dataDir)
await storage.snapshots.save(room!, encodeSnapshot(splitUpdate(Y.encodeStateAsUpdate(canvasOfSize(10 * 1024 * 1024)), PIECE_BYTES)), '1-0')
await storage.close()
target = await startOurs({ dataDir, env: { ROOM_GRACE_MS: '100' } })
const lagMax = async (): Promise<string> => (await (await fetch(`${target.httpBase}/metrics`)).text()).split('\n').filter((l) => l.startsWith('nodejs_eventloop_lag_max') || l.startsWith('nodejs_eventloop_lag_p99')).join(' ')
for (let i = 0; i < 3; i++) {
  await lagMax()
  const sync = await rawSync(target.spec, room!)
  await new Promise((r) => setTimeout(r, 300))
  console.log(`load ${sync.step2Ms.toFixed(0)} ms; ${await lagMax()}`)
  await new Promise((r) => setTimeout(r, 1500))
}
await target.stop()
