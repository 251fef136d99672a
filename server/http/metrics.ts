/** GET /metrics in Prometheus text format; behind a bearer token when METRICS_TOKEN is set. */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { unauthorized } from '../errors.ts'
import type { PrometheusMetrics } from '../metrics/prometheus.ts'

/** Wrapped with fastify-plugin so the timing hook sees every route, not only its own. */
export const metricsRoutes = fp(async (app: FastifyInstance, options: { metrics: PrometheusMetrics; token: string | undefined }) => {
  const { metrics, token } = options
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token !== undefined && !matches(request.headers.authorization, `Bearer ${token}`)) throw unauthorized('metrics token required')
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}, { name: 'metrics' })

function matches(given: string | undefined, expected: string): boolean {
  if (given === undefined || given.length !== expected.length) return false
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected))
}
