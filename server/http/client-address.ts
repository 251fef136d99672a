/**
 * Who a request comes from, by TRUST_PROXY: the TCP peer, or the client a trusted proxy names
 * in X-Forwarded-For (by the same rule Fastify uses for `request.ip`). Used where Fastify's
 * `request.ip` is not at hand: the WebSocket upgrade and the per-connection cap.
 */
import type { IncomingMessage } from 'node:http'
import proxyaddr from '@fastify/proxy-addr'
import type { ProxyTrust } from '../config.ts'
import { fastifyProxyTrust } from './proxy-trust.ts'

export interface ClientAddresses {
  /** Whether connections from this TCP peer are a trusted proxy's (their clients are named in X-Forwarded-For). */
  isTrustedProxy(peer: string): boolean
  /** The request's client: the peer, or the forwarded client when the peer is trusted. */
  of(request: IncomingMessage): string
}

export function clientAddresses(trust: ProxyTrust): ClientAddresses {
  const rule = fastifyProxyTrust(trust)
  if (rule === false) return { isTrustedProxy: () => false, of: (request) => request.socket.remoteAddress ?? '' }
  const trusts = typeof rule === 'function' ? rule : proxyaddr.compile(rule)
  return {
    isTrustedProxy: (peer) => trusts(peer, 0),
    of: (request) => proxyaddr(request, trusts),
  }
}
