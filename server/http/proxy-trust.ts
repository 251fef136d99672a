/**
 * TRUST_PROXY as Fastify takes it. A hop count trusts the nearest N proxies whatever their
 * address (proxy-addr's own rule for a number: hop `i` is trusted while `i < N`); addresses and
 * CIDRs trust only those peers. Never `true`: that believes whatever X-Forwarded-For a client
 * sends, so the per-address limits and logged addresses would be the client's choice.
 */
import type { ProxyTrust } from '../config.ts'

export type FastifyProxyTrust = false | string[] | ((address: string, hop: number) => boolean)

export function fastifyProxyTrust(trust: ProxyTrust): FastifyProxyTrust {
  if (typeof trust !== 'number') return trust
  return (_address, hop) => hop < trust
}
