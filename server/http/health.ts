/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: its dependencies do). */
import type { FastifyInstance } from 'fastify'

/** Readiness must answer fast even when a dependency hangs. */
const PROBE_TIMEOUT_MS = 1_000

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const storage = await probe(() => app.storage.ping())
    const log = app.updateLog.isUp()
    const ready = storage && log
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', storage: up(storage), log: up(log) })
  })
}

async function probe(check: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)
  })
  try {
    return await Promise.race([check().then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function up(ok: boolean): 'up' | 'down' {
  return ok ? 'up' : 'down'
}
