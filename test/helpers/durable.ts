/**
 * What a cluster holds durably right now for a room: its MongoDB snapshot plus its Redis stream,
 * read with the server's own loader (as a node loading the room would).
 */
import pino from 'pino'
import * as Y from 'yjs'
import { snapshotDoc } from './snapshot-doc.ts'
import type { RedisBackend } from '../../server/cluster/redis-backend.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisClusterClients } from '../../server/cluster/redis-cluster-clients.ts'
import { DocWorker } from '../../server/collab/workers/doc-worker-client.ts'
import { loadRoom } from '../../server/collab/room/room-loader.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import { MongoStorage } from '../../server/storage/mongo/mongo-storage.ts'

const silent = pino({ level: 'silent' })

export interface DurableView {
  /** The room as snapshot + stream would load it. */
  load(room: string): Promise<Y.Doc>
  /** The room as the snapshot alone holds it (null if no snapshot yet). */
  snapshot(room: string): Promise<Y.Doc | null>
  streamLength(room: string): Promise<number>
  close(): Promise<void>
}

export async function durableView(env: Record<string, string>): Promise<DurableView> {
  const storage = await MongoStorage.open({ url: env.MONGODB_URL!, dbName: env.MONGODB_DB!, timeoutMs: 5_000, logger: silent })
  const clients: RedisBackend = env.REDIS_CLUSTER_NODES
    ? await RedisClusterClients.connect(env.REDIS_CLUSTER_NODES.split(','), silent, { buckets: Number(env.REDIS_CLUSTER_BUCKETS ?? 16) })
    : await RedisClients.connect(env.REDIS_URL!, silent)
  const log = new RedisLog(clients, { prefix: env.REDIS_PREFIX ?? 'collab:', minEntryAgeMs: 60_000, logger: silent })
  const worker = new DocWorker()
  return {
    load: async (room) => {
      const loaded = await loadRoom(room, { snapshots: storage.snapshots, log, worker, batchSize: 1000, logger: silent })
      const doc = new Y.Doc()
      for (const update of [...loaded.base.pieces, ...loaded.entries.flatMap((e) => e.updates.map((u) => u.update))]) Y.applyUpdate(doc, update)
      return doc
    },
    snapshot: async (room) => {
      const stored = await storage.snapshots.load(room)
      if (!stored) return null
      return snapshotDoc(stored.update)
    },
    streamLength: (room) => log.size(room),
    close: async () => {
      await worker.close()
      await log.close()
      await clients.close()
      await storage.close()
    },
  }
}
