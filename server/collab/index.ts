/** Wires the collaboration core together from a storage, a log and an authorizer. */
import { newId } from '../../shared/ids.ts'
import { parseRoomName } from '../../shared/rooms.ts'
import { noRelay, type AwarenessRelay } from '../cluster/awareness-relay.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { UpdateLog } from '../log/types.ts'
import type { Storage } from '../storage/types.ts'
import type { Authorizer } from './authorizer.ts'
import { LocalLease, type CompactionLease } from './compaction/compaction-lease.ts'
import type { Slicer } from './turn-slicer.ts'
import { Compactor, type CompactionHistory } from './compaction/compactor.ts'
import type { ConnectionLimits } from './wire/connection.ts'
import { DocWorker } from './workers/doc-worker-client.ts'
import { Folder } from './compaction/folder.ts'
import { CollabServer } from './collab-server.ts'
import { noObserver, type CollabObserver } from './observer.ts'
import type { RoomLimits } from './room/room.ts'
import { SOCKETS_PER_USER, userRates, type SocketRates } from './room/room-budgets.ts'
import { loadRoom } from './room/room-loader.ts'
import type { Room } from './room/room.ts'
import { UserBudgetStore } from './room/user-budget-store.ts'
import { Budget } from './wire/budget.ts'
import { RoomRegistry } from './room/room-registry.ts'
import { parseRetention } from '../history/retention.ts'
import { VersionKeeper } from '../history/version-keeper.ts'
import { withFeed, type CompactionFeed } from '../feed/compaction-feed.ts'

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
  storage: CollabStorage
  log: UpdateLog
  authorizer: Authorizer
  lease?: CompactionLease
  relay?: AwarenessRelay
  /** This process among the nodes (its log appends carry it); a fresh one when not given. */
  nodeId?: string
  observer?: CollabObserver
  /** Parts given instead of the usual (a simulation runs the workers in-process, history in memory). */
  parts?: { worker?: DocWorker; folder?: Folder; history?: CompactionHistory; slicer?: () => Slicer }
  /** The change feed, fed by compaction (absent: no document events). */
  feed?: CompactionFeed
}

/** What the collaboration core reads and writes of storage. */
export type CollabStorage = Pick<Storage, 'snapshots' | 'groups' | 'versions' | 'edits'>

/** Awareness ids one socket may introduce; a y-websocket client uses one. */
const MAX_AWARENESS_IDS = 4
/** y-protocols drops a peer's state after 30 s without renewal (clients renew every 15 s). */
const PRESENCE_OUTDATED_MS = 30_000
/** Content indexes of documents up to this size are built right on the main thread. */
const INDEX_INLINE_BYTES = 128 * 1024
/**
 * A stock client rarely sends updates whose dependencies the room lacks (it passes on content it
 * got through a node this one has not read yet): a few are held, for half a minute at most.
 */
const HELD_PER_SOCKET = { updates: 64, bytes: 1024 * 1024 }
/** New client ids one user's updates may introduce in a document: 256 at once, then one per 10 s. */
const NEW_CLIENT_IDS = { capacity: 256, perSecond: 0.1 }
const VIEW = { idleMs: 30_000, maxBacklogBytes: 8 * 1024 * 1024 }
const MINUTE = 60
/**
 * Snapshot bytes a chat room may rewrite per second to bring its events soon: each fold stores
 * the whole document, so a member posting now and then into a big chat must not make the node
 * rewrite megabytes every few seconds; a bigger chat's events wait longer.
 */
const CHAT_FOLD_BYTES_PER_SECOND = 512 * 1024

/** What all chats' early folds on one node may rewrite: 2 MiB a second, bursts of 8 MiB. */
const EARLY_FOLD_BYTES = { capacity: 8 * 1024 * 1024, perSecond: 2 * 1024 * 1024 }

function chatFoldDelayMs(docBytes: number, delayMs: number): number {
  return Math.max(delayMs, Math.ceil((docBytes / CHAT_FOLD_BYTES_PER_SECOND) * 1000))
}

export function roomLimits(config: Config): RoomLimits {
  return {
    maxQueuedBytes: 4 * config.maxPayloadBytes,
    maxDocBytes: config.maxDocBytes,
    perUser: userRates(socketRates(config), { write: { capacity: config.writeBytesPerMinute, perSecond: config.writeBytesPerMinute / MINUTE }, updates: { capacity: config.writeUpdatesPerMinute, perSecond: config.writeUpdatesPerMinute / MINUTE }, newClientIds: NEW_CLIENT_IDS, posts: { capacity: config.chatMessageBurst, perSecond: config.chatMessagesPerMinute / MINUTE } }),
    indexInlineBytes: INDEX_INLINE_BYTES,
    view: VIEW,
    presence: { maxIdsPerSocket: MAX_AWARENESS_IDS, outdatedMs: PRESENCE_OUTDATED_MS },
    held: { perSocket: HELD_PER_SOCKET, perUser: { updates: HELD_PER_SOCKET.updates * SOCKETS_PER_USER, bytes: HELD_PER_SOCKET.bytes * SOCKETS_PER_USER }, maxAgeMs: config.heldUpdateMaxAgeMs },
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
  return { maxBufferedBytes: config.maxBufferedBytes, maxAwarenessIds: MAX_AWARENESS_IDS, presenceMessages, presenceBytes, syncBytes: sync }
}

export function createCollab(wiring: CollabWiring): CollabCore {
  const { config, logger, storage, log } = wiring
  const relay = wiring.relay ?? noRelay
  const observer = wiring.observer ?? noObserver
  const worker = wiring.parts?.worker ?? new DocWorker()
  const loader = { snapshots: storage.snapshots, log, worker, batchSize: config.compactBatchEntries, logger }
  const folder = wiring.parts?.folder ?? new Folder()
  const history = new VersionKeeper({
    versions: storage.versions,
    edits: storage.edits,
    snapshots: storage.snapshots,
    intervalMs: config.versionIntervalMs,
    retention: parseRetention(config.versionRetention),
    logger: logger.child({ module: 'history' }),
  })
  const compactor = new Compactor({
    history: wiring.feed ? withFeed(wiring.parts?.history ?? history, wiring.feed) : wiring.parts?.history ?? history,
    ...loader,
    lease: wiring.lease ?? new LocalLease(),
    folder,
    logger: logger.child({ module: 'compactor' }),
    everyUpdates: config.compactEveryUpdates,
    idleMs: config.compactIdleMs,
    maxWaitMs: config.compactMaxWaitMs,
    // A chat's messages are the feed's most awaited events: its room folds soon after each.
    ...(wiring.feed && {
      eventDelayMs: (room: Room) => (parseRoomName(room.name)?.kind === 'chat' ? chatFoldDelayMs(room.bytes.bytes, config.chatEventDelayMs) : undefined),
      earlyFolds: new Budget(EARLY_FOLD_BYTES),
    }),
    observer,
    slicer: wiring.parts?.slicer,
    roomExists: async (room) => {
      const ref = parseRoomName(room)
      return ref !== null && (await storage.groups.byId(ref.groupId)) !== null
    },
  })
  let logLost = false
  const registry = new RoomRegistry({
    loader,
    room: {
      node: wiring.nodeId ?? newId(),
      log,
      logger,
      observer,
      worker,
      rules: { offlineWindowMs: config.offlineWindowMs, maxFutureMs: 2 * 60_000 },
      limits: roomLimits(config),
      publishAwareness: (room, update) => relay.publish(room, update),
      reload: (room) => loadRoom(room, loader),
      logLost: () => logLost,
      budgetStore: new UserBudgetStore(),
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
    logLost = true
    registry.logLost()
  })
  return { server, registry, compactor, folder, worker, history }
}
