/**
 * A cap on open TCP connections per peer address (MAX_CONNECTIONS_PER_ADDRESS), so one client
 * cannot take every file descriptor with idle or slow connections. Counted on the server's
 * 'connection' event, before any byte is read: HTTP keep-alive connections and WebSockets (an
 * upgraded socket is the same connection) count alike, and one over the cap is reset at once.
 *
 * The address is the TCP peer's, never X-Forwarded-For (no header has arrived yet). A proxy
 * that TRUST_PROXY names is not counted: every user behind it would count as the proxy, so the
 * proxy bounds its own connections per client (deploy/nginx.conf: `limit_conn`) and the node
 * counts its clients' WebSockets by the forwarded address (collab/wire/client-socket-cap.ts).
 * IPv6 peers count per /64, since one host commonly holds a whole /64.
 */
import type { Server, Socket } from 'node:net'
import { normalizeIP } from '@fastify/rate-limit'
import type { Logger } from '../logger.ts'

/** The key a peer address counts under: IPv4 as is (also when IPv4-mapped), IPv6 per /64. */
export function addressKey(address: string): string {
  return normalizeIP(address, 64)
}

export class ConnectionCap {
  private readonly open = new Map<string, number>()
  /** Addresses warned about since they last dropped below the cap: one log line per episode. */
  private readonly warned = new Set<string>()
  private readonly max: number
  private readonly logger: Logger

  private readonly isTrustedProxy: (peer: string) => boolean

  /** `max` 0 leaves connections uncounted; so are those of a trusted proxy. */
  constructor(server: Server, max: number, logger: Logger, isTrustedProxy: (peer: string) => boolean = () => false) {
    this.max = max
    this.logger = logger
    this.isTrustedProxy = isTrustedProxy
    if (max > 0) server.on('connection', (socket: Socket) => this.admit(socket))
  }

  /** Open connections counted for `address` now. */
  openFrom(address: string): number {
    return this.open.get(addressKey(address)) ?? 0
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress
    // Gone before it was seen (reset by the peer): nothing to count.
    if (address === undefined) return void socket.destroy()
    if (this.isTrustedProxy(address)) return
    const key = addressKey(address)
    const count = this.open.get(key) ?? 0
    if (count >= this.max) return this.refuse(socket, key)
    this.open.set(key, count + 1)
    socket.once('close', () => this.release(key))
  }

  private refuse(socket: Socket, key: string): void {
    // A reset frees the connection at once on both ends (no FIN handshake, no TIME_WAIT here).
    socket.resetAndDestroy()
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.logger.warn({ address: key, max: this.max }, 'connection cap reached; refusing new connections from this address')
  }

  private release(key: string): void {
    const left = (this.open.get(key) ?? 1) - 1
    if (left > 0) this.open.set(key, left)
    else this.open.delete(key)
    if (left < this.max) this.warned.delete(key)
  }
}
