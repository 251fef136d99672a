/**
 * Builds the server (Fastify app + collaboration core on the same HTTP server) without
 * listening: `main.ts` listens, tests listen on port 0 or use `app.inject`.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { openLog, openStorage } from './backends.ts'
import type { Authorizer } from './collab/authorizer.ts'
import { createCollab, type CollabCore } from './collab/index.ts'
import { OpenAuthorizer } from './collab/open-authorizer.ts'
import { WsAdapter } from './collab/ws-adapter.ts'
import type { Config } from './config.ts'
import { healthRoutes } from './http/health.ts'
import { loggerOptions } from './logger.ts'
import type { UpdateLog } from './log/types.ts'
import type { Storage } from './storage/types.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    storage: Storage
    updateLog: UpdateLog
    collab: CollabCore
  }
}

export interface BuildOptions {
  authorizer?: Authorizer
}

/** How often rooms with log entries but no hot doc here are compacted. */
const SWEEP_INTERVAL_MS = 60_000

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: loggerOptions(config), bodyLimit: config.maxBodyBytes, trustProxy: config.trustProxy })
  const storage = await openStorage(config)
  const log = await openLog(config)
  const collab = createCollab({
    config,
    logger: app.log.child({ module: 'collab' }),
    storage,
    log,
    authorizer: options.authorizer ?? new OpenAuthorizer(),
  })
  app.decorate('config', config)
  app.decorate('storage', storage)
  app.decorate('updateLog', log)
  app.decorate('collab', collab)

  const ws = new WsAdapter(app.server, collab.server, {
    maxPayloadBytes: config.maxPayloadBytes,
    pingIntervalMs: config.pingIntervalMs,
    admissionTimeoutMs: config.shutdownTimeoutMs,
  }, app.log.child({ module: 'ws' }))

  const sweep = (): Promise<void> => collab.compactor.sweep((room) => collab.registry.isHot(room))
  const sweepTimer = setInterval(() => void sweep(), SWEEP_INTERVAL_MS)
  sweepTimer.unref()
  app.addHook('onReady', async () => void sweep())
  app.addHook('preClose', async () => {
    clearInterval(sweepTimer)
    await ws.close(config.shutdownTimeoutMs / 2)
  })
  app.addHook('onClose', async () => {
    await collab.registry.evictAll()
    await log.close()
    await storage.close()
  })

  await app.register(healthRoutes)
  return app
}
