/**
 * Deadlines of the Node HTTP server under Fastify, so slow or silent clients cannot hold
 * connections open. What each one cuts in Node 24 (checked with raw sockets, see
 * test/http/slow-clients.test.ts):
 *
 * - `headersTimeout`: headers not complete this long after the connection opened (or after a
 *   keep-alive request's first byte): 408, closed. Covers a connection that never sends a byte,
 *   and headers dripped a byte at a time.
 * - `requestTimeout`: the whole request (headers and body) not received this long after it
 *   began: 408, closed. Covers bodies dripped a byte at a time. Fastify's default is 0 (never).
 * - `keepAliveTimeout`: an idle connection between requests is closed this long (plus Node's
 *   1 s `keepAliveTimeoutBuffer`) after the last response.
 * - `connectionTimeout` (`server.timeout`): no byte in either direction this long, closed. It
 *   also runs while a handler works and while a response waits for a client that does not read,
 *   so it must exceed the slowest handler. Node drops it for upgraded sockets (WebSockets).
 *
 * Node checks the first two on a timer (`connectionsCheckingInterval`, 30 s by default, which
 * would let a 10 s deadline run to 40 s); it runs here every second, or a quarter of the headers
 * deadline when that is shorter.
 */
import type { ServerOptions } from 'node:http'
import type { Config } from '../config.ts'

export interface HttpServerOptions {
  connectionTimeout: number
  keepAliveTimeout: number
  requestTimeout: number
  http: ServerOptions
}

const MAX_CHECK_INTERVAL_MS = 1_000
const MIN_CHECK_INTERVAL_MS = 25

export function httpServerOptions(config: Config): HttpServerOptions {
  const checkEvery = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(config.httpHeadersTimeoutMs / 4)))
  return {
    // Fastify sets these three on the server after creating it, overriding `http` below.
    connectionTimeout: config.httpIdleTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    requestTimeout: config.httpRequestTimeoutMs,
    http: {
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      keepAliveTimeout: config.httpKeepAliveTimeoutMs,
      connectionsCheckingInterval: checkEvery,
    },
  }
}
