/** Wires the collaboration core together from a storage, a log and an authorizer. */
import { parseRoomName } from '../../shared/rooms.ts'
import { noRelay, type AwarenessRelay } from '../cluster/awareness-relay.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { UpdateLog } from '../log/types.ts'
import type { Storage } from '../storage/types.ts'
import type { Authorizer } from './authorizer.ts'
import { LocalLease, type CompactionLease } from './compaction-lease.ts'
import { Compactor } from './compactor.ts'
import type { ConnectionLimits } from './connection.ts'
import { DocWorker } from './doc-worker-client.ts'
import { Folder } from './folder.ts'
import { CollabServer } from './collab-server.ts'
import { noObserver, type CollabObserver } from './observer.ts'
import type { RoomLimits } from './room.ts'
import { userRates, type SocketRates } from './room-budgets.ts'
import { loadRoom } from './room-loader.ts'
import { RoomRegistry } from './room-registry.ts'
import { parseRetention } from '../history/retention.ts'
import { VersionKeeper } from '../history/version-keeper.ts'

export interface CollabCore {
  server: CollabServer
  registry: RoomRegistry
  compactor: Compactor
  folder: Folder
  worker: DocWorker
  history: VersionKeeper
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
/** y-protocols drops a peer's state after 30 s without renewal (clients renew every 15 s). */
const PRESENCE_OUTDATED_MS = 30_000
/** Content indexes of documents up to this size are built right on the main thread. */
const INDEX_INLINE_BYTES = 128 * 1024
/** A stock client never sends updates with missing dependencies; a few are held, no more. */
const HELD = { maxHeldUpdates: 64, maxHeldBytes: 1024 * 1024 }
/** New client ids one user's updates may introduce in a document: 256 at once, then one per 10 s. */
const NEW_CLIENT_IDS = { capacity: 256, perSecond: 0.1 }
const VIEW = { idleMs: 30_000, maxBacklogBytes: 8 * 1024 * 1024 }
const MINUTE = 60

export function roomLimits(config: Config): RoomLimits {
  return {
    maxQueuedBytes: 4 * config.maxPayloadBytes,
    maxDocBytes: config.maxDocBytes,
    perUser: userRates(socketRates(config), { write: { capacity: config.writeBytesPerMinute, perSecond: config.writeBytesPerMinute / MINUTE }, newClientIds: NEW_CLIENT_IDS }),
    indexInlineBytes: INDEX_INLINE_BYTES,
    view: VIEW,
    presence: { maxIdsPerSocket: MAX_AWARENESS_IDS, outdatedMs: PRESENCE_OUTDATED_MS },
  }
}

/** What one socket may spend on presence and on sync answers. */
function socketRates(config: Config): SocketRates {
  return {
    presenceMessages: { capacity: 2 * config.presenceMessagesPerSecond, perSecond: config.presenceMessagesPerSecond },
    presenceBytes: { capacity: 4 * config.presenceBytesPerSecond, perSecond: config.presenceBytesPerSecond },
    sync: { capacity: config.syncBytesPerMinute, perSecond: config.syncBytesPerMinute / MINUTE },
  }
}

export function connectionLimits(config: Config): ConnectionLimits {
  const { presenceMessages, presenceBytes, sync } = socketRates(config)
  return { maxBufferedBytes: config.maxBufferedBytes, maxAwarenessIds: MAX_AWARENESS_IDS, presenceMessages, presenceBytes, syncBytes: sync, ...HELD }
}

export function createCollab(wiring: CollabWiring): CollabCore {
  const { config, logger, storage, log } = wiring
  const relay = wiring.relay ?? noRelay
  const observer = wiring.observer ?? noObserver
  const worker = new DocWorker()
  const loader = { snapshots: storage.snapshots, log, worker, batchSize: config.compactBatchEntries, logger }
  const folder = new Folder()
  const history = new VersionKeeper({
    versions: storage.versions,
    edits: storage.edits,
    snapshots: storage.snapshots,
    intervalMs: config.versionIntervalMs,
    retention: parseRetention(config.versionRetention),
    logger: logger.child({ module: 'history' }),
  })
  const compactor = new Compactor({
    history,
    ...loader,
    lease: wiring.lease ?? new LocalLease(),
    folder,
    logger: logger.child({ module: 'compactor' }),
    everyUpdates: config.compactEveryUpdates,
    idleMs: config.compactIdleMs,
    observer,
    roomExists: async (room) => {
      const ref = parseRoomName(room)
      return ref !== null && (await storage.groups.byId(ref.groupId)) !== null
    },
  })
  const registry = new RoomRegistry({
    loader,
    room: {
      log,
      logger,
      observer,
      worker,
      rules: { offlineWindowMs: config.offlineWindowMs, maxFutureMs: 2 * 60_000 },
      limits: roomLimits(config),
      publishAwareness: (room, update) => relay.publish(room, update),
      reload: (room) => loadRoom(room, loader),
    },
    compactor,
    relay,
    logger,
    graceMs: config.roomGraceMs,
    finalCompactionMs: config.shutdownTimeoutMs,
    observer,
  })
  worker.onRestart(() => {
    for (const room of registry.all()) room.view.lost()
  })
  const server = new CollabServer({
    registry,
    authorizer: wiring.authorizer,
    logger,
    limits: connectionLimits(config),
    maxPresenceStateBytes: config.maxPresenceStateBytes,
    observer,
  })
  log.onHealth((up) => {
    if (up) for (const room of registry.all()) room.onLogUp()
  })
  log.onReset(() => {
    for (const room of registry.all()) void room.relog()
  })
  return { server, registry, compactor, folder, worker, history }
}
