/** Liveness and readiness. */
import type { FastifyInstance } from 'fastify'

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const storage = await app.storage.ping().then(() => true, () => false)
    const log = app.updateLog.isUp()
    const ready = storage && log
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', storage: up(storage), log: up(log) })
  })
}

function up(ok: boolean): 'up' | 'down' {
  return ok ? 'up' : 'down'
}
