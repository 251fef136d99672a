/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: its dependencies do).
 * Readiness reads the dependency monitors (storage pinged every second, Redis connections
 * PINGed and their reads watched), so it answers at once even while a dependency is silent.
 */
import type { FastifyInstance } from 'fastify'

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const storage = app.readiness.storage()
    const log = app.readiness.log()
    const ready = storage && log
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', storage: up(storage), log: up(log) })
  })
}

function up(ok: boolean): 'up' | 'down' {
  return ok ? 'up' : 'down'
}
