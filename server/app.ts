/**
 * Builds the server (Fastify app + collaboration core on the same HTTP server) without
 * listening: `main.ts` listens, tests listen on port 0 or use `app.inject`.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import { openStorage } from './backends.ts'
import { BackgroundFailures, BackgroundLoop } from './background-loop.ts'
import { openCluster, type Cluster } from './cluster/index.ts'
import { createCollab, type CollabCore } from './collab/index.ts'
import { clientAddresses } from './http/client-address.ts'
import { WsAdapter } from './collab/wire/ws-adapter.ts'
import type { Config } from './config.ts'
import type { EventBus } from './events/bus.ts'
import { deleteGroupDocuments, followAccessEvents } from './groups/access-events.ts'
import { SocketAuthorizer } from './groups/socket-authorizer.ts'
import { registerHttp } from './http/index.ts'
import { createFeed, serveFeed } from './feed/index.ts'
import { feedRoutes } from './http/routes/feed-routes.ts'
import { webhookRoutes } from './http/routes/webhook-routes.ts'
import { fastifyProxyTrust } from './http/proxy-trust.ts'
import { httpServerOptions } from './http/server-options.ts'
import { metricsRoutes } from './http/metrics.ts'
import { PrometheusMetrics } from './metrics/prometheus.ts'
import { loggerOptions } from './logger.ts'
import type { UpdateLog } from './log/types.ts'
import { createAuth, createServices, type Services } from './services.ts'
import { StorageMonitor } from './storage/storage-monitor.ts'
import type { Storage } from './storage/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    storage: Storage
    updateLog: UpdateLog
    collab: CollabCore
    services: Services
    bus: EventBus
    cluster: Cluster
    /** What /readyz reports: each dependency's health as its monitor last saw it. */
    readiness: { storage(): boolean; log(): boolean }
  }
}

export async function buildApp(config: Config): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config),
    bodyLimit: config.maxBodyBytes,
    trustProxy: fastifyProxyTrust(config.trustProxy),
    // Unknown properties are errors (the schemas say additionalProperties: false), not dropped.
    ajv: { customOptions: { removeAdditional: false } },
    requestIdHeader: false,
    genReqId: requestId,
    ...httpServerOptions(config),
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  const failures = new BackgroundFailures()
  const storage = await openStorage(config, app.log, failures)
  const storageHealth = new StorageMonitor(storage, { everyMs: LIVENESS_PROBE_MS, timeoutMs: config.mongodbTimeoutMs, logger: app.log.child({ module: 'storage-monitor' }), failures })
  await storageHealth.start()
  const cluster = await openCluster(config, app.log, failures)
  const { log, bus } = cluster
  const { tokens, access, lists } = await createAuth(config, storage)
  const metrics = new PrometheusMetrics({
    connections: () => collab.server.connectionCount,
    rooms: () => collab.registry.all(),
    logUp: () => log.isUp(),
    storageUp: () => storageHealth.isUp(),
    backgroundFailures: () => failures.entries(),
    threadHeaps: async () => [['main', process.memoryUsage().heapUsed], ['doc-worker', await collab.worker.heapUsed()], ['fold-worker', await collab.folder.heapUsed()]],
    wireFormats: () => cluster.formats,
  })
  const feed = createFeed(config, storage, app.log.child({ module: 'feed' }))
  const collab = createCollab({
    config,
    logger: app.log.child({ module: 'collab' }),
    storage,
    log,
    lease: cluster.lease,
    relay: cluster.relay,
    nodeId: cluster.nodeId,
    observer: metrics,
    authorizer: new SocketAuthorizer(tokens, access),
    feed: feed.compaction,
  })
  const rooms = {
    deleteGroupData: (groupId: string) => deleteGroupDocuments(collab, groupId, async (room) => {
      await storage.snapshots.delete(room)
      await log.deleteRoom(room)
      await storage.versions.deleteRoom(room)
      await storage.edits.deleteRoom(room)
      await storage.feed.deleteRoomItems(room)
    }),
  }
  const services = createServices({ storage, bus, registry: collab.registry, rooms, tokens, access, lists, limits: config, collab })
  const served = serveFeed(feed, { config, storage, access, bus, services, lease: cluster.lease, logger: app.log, failures })
  const stopFollowing = followAccessEvents(bus, { access, lists }, collab, {
    deadlineMs: config.revocationDeadlineMs,
    storageUp: () => storageHealth.isUp(),
    logger: app.log.child({ module: 'access' }),
    failures,
  })
  app.decorate('config', config)
  app.decorate('storage', storage)
  app.decorate('updateLog', log)
  app.decorate('collab', collab)
  app.decorate('services', services)
  app.decorate('bus', bus)
  app.decorate('cluster', cluster)
  app.decorate('readiness', { storage: () => storageHealth.isUp(), log: () => log.isUp() })

  const ws = new WsAdapter(app.server, collab.server, {
    maxPayloadBytes: config.maxPayloadBytes,
    pingIntervalMs: config.pingIntervalMs,
    admissionTimeoutMs: config.shutdownTimeoutMs,
    clients: clientAddresses(config.trustProxy),
    maxSocketsPerClient: config.maxConnectionsPerAddress,
  }, app.log.child({ module: 'ws' }))

  const sweep = new BackgroundLoop(() => collab.compactor.sweep((room) => collab.registry.isHot(room)), {
    name: 'compaction-sweep', everyMs: config.compactSweepMs, retryMs: SWEEP_RETRY_MS, logger: app.log.child({ module: 'sweep' }), failures,
  })
  app.addHook('onReady', async () => void sweep.start().runNow())
  app.addHook('onReady', async () => served.dispatcher.start())
  app.addHook('preClose', async () => {
    await sweep.stop()
    served.streams.closeAll()
    await served.dispatcher.stop()
    await ws.close(config.shutdownTimeoutMs / 2)
  })
  app.addHook('onClose', async () => {
    await stopFollowing()
    await storageHealth.stop()
    await collab.registry.evictAll()
    await collab.folder.close()
    await collab.worker.close()
    collab.history.close()
    await cluster.close()
    await storage.close()
  })

  await app.register(metricsRoutes, { metrics, token: config.metricsToken })
  await registerHttp(app, config, services)
  await app.register(feedRoutes, { feed: served.feed, streams: served.streams })
  await app.register(webhookRoutes, { webhooks: served.webhooks })
  return app
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/
/** Storage is pinged this often (a ping not answered within MONGODB_TIMEOUT_MS marks it down). */
const LIVENESS_PROBE_MS = 1_000
/** A failed sweep is retried this soon (doubling up to COMPACT_SWEEP_MS). */
const SWEEP_RETRY_MS = 1_000

/** A caller's (or load balancer's) X-Request-Id when it is safe to log, else a fresh one. */
function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID()
}
