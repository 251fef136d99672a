/** Wires the collaboration core together from a storage, a log and an authorizer. */
import { noRelay, type AwarenessRelay } from '../cluster/awareness-relay.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { UpdateLog } from '../log/types.ts'
import type { Storage } from '../storage/types.ts'
import type { Authorizer } from './authorizer.ts'
import { LocalLease, type CompactionLease } from './compaction-lease.ts'
import { Compactor } from './compactor.ts'
import { Folder } from './folder.ts'
import { CollabServer } from './collab-server.ts'
import { noObserver, type CollabObserver } from './observer.ts'
import { loadRoomState } from './room-loader.ts'
import { RoomRegistry } from './room-registry.ts'

export interface CollabCore {
  server: CollabServer
  registry: RoomRegistry
  compactor: Compactor
  folder: Folder
}

export interface CollabWiring {
  config: Config
  logger: Logger
  storage: Storage
  log: UpdateLog
  authorizer: Authorizer
  lease?: CompactionLease
  relay?: AwarenessRelay
  observer?: CollabObserver
}

/** Awareness ids one socket may introduce; a y-websocket client uses one. */
const MAX_AWARENESS_IDS = 4

export function createCollab(wiring: CollabWiring): CollabCore {
  const { config, logger, storage, log } = wiring
  const relay = wiring.relay ?? noRelay
  const observer = wiring.observer ?? noObserver
  const loader = { snapshots: storage.snapshots, log, batchSize: config.compactBatchEntries, logger }
  const folder = new Folder()
  const compactor = new Compactor({
    ...loader,
    lease: wiring.lease ?? new LocalLease(),
    folder,
    logger: logger.child({ module: 'compactor' }),
    everyUpdates: config.compactEveryUpdates,
    idleMs: config.compactIdleMs,
    observer,
  })
  const registry = new RoomRegistry({
    loader,
    room: {
      log,
      logger,
      maxQueuedBytes: 4 * config.maxPayloadBytes,
      publishAwareness: (room, update) => relay.publish(room, update),
      reload: (room) => loadRoomState(room, loader),
      observer,
    },
    compactor,
    relay,
    logger,
    graceMs: config.roomGraceMs,
    finalCompactionMs: config.shutdownTimeoutMs,
    observer,
  })
  const server = new CollabServer({
    registry,
    authorizer: wiring.authorizer,
    logger,
    limits: { maxBufferedBytes: config.maxBufferedBytes, maxAwarenessIds: MAX_AWARENESS_IDS },
    observer,
  })
  log.onHealth((up) => {
    if (up) for (const room of registry.all()) room.onLogUp()
  })
  return { server, registry, compactor, folder }
}
