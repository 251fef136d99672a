/**
 * Every error leaves as JSON `{ error, message }` with the right status: validation 400,
 * AppErrors as raised, Fastify's own (413 body too large, 415, 429 from the rate limiter) by
 * their status, storage that cannot be reached as 503 with a retry hint (the request may be
 * retried as it is), and anything unexpected as a logged 500 that reveals nothing.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { AppError } from '../errors.ts'

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
}

/** The MongoDB driver's errors for a server it cannot reach or that does not answer in time, and our deadline's. */
const STORAGE_UNREACHABLE = /^(Mongo(ServerSelection|Network|NetworkTimeout|OperationTimeout|Timeout)|StorageTimeout)Error$/
const STORAGE_RETRY_AFTER_SECONDS = 2

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
      return reply.code(error.status).send({ error: error.code, message: error.message })
    }
    if ('validation' in error && error.validation) return reply.code(400).send({ error: 'bad_request', message: error.message })
    if (STORAGE_UNREACHABLE.test(error.name)) {
      request.log.warn({ err: error }, 'storage unreachable')
      reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS))
      return reply.code(503).send({ error: 'unavailable', message: 'storage is unavailable right now; retry shortly' })
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500
    if (status >= 400 && status < 500) return reply.code(status).send({ error: CODES[status] ?? 'client_error', message: error.message })
    request.log.error({ err: error }, 'request failed')
    return reply.code(500).send({ error: 'internal', message: 'internal server error' })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }))
}
