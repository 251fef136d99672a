/**
 * Binds the collaboration server to `ws` on the HTTP server's upgrade event, so one port serves
 * REST and WebSocket. The only module that imports `ws`.
 *
 * Admission (authorization and room load) runs before the handshake completes, so a socket that
 * is not allowed in never holds a room or buffers frames; it is then accepted only to be closed
 * with a named code, because browsers see close codes but not HTTP statuses (a refused upgrade
 * is a bare 1006 to them). That includes admission failing outright or taking too long (e.g.
 * MongoDB down and the membership not cached): 1013, try again later.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import { CloseCode } from '../../../shared/close-codes.ts'
import type { Logger } from '../../logger.ts'
import type { Admission, CollabServer, SocketHandle } from '../collab-server.ts'
import type { Transport } from './transport.ts'
import type { ClientAddresses } from '../../http/client-address.ts'
import { ClientSocketCap } from './client-socket-cap.ts'

export const COLLAB_PATH = '/collab/'

export interface WsAdapterOptions {
  maxPayloadBytes: number
  pingIntervalMs: number
  /** Longest admission (auth + room load) before the socket is closed with 1013. */
  admissionTimeoutMs: number
  /** Who a request comes from (TRUST_PROXY). */
  clients: ClientAddresses
  /** WebSockets one client behind a trusted proxy may hold on this node (0: no cap). */
  maxSocketsPerClient: number
}

/** How long a closing socket may take to finish the close handshake before it is cut. */
const CLOSE_GRACE_MS = 2_000
const SWEEP_MS = 5_000

interface Tracked {
  alive: boolean
  lastPingAt: number
  handle: SocketHandle
}

export class WsAdapter {
  private readonly wss: WebSocketServer
  private readonly sockets = new Map<WebSocket, Tracked>()
  private readonly clientCap: ClientSocketCap
  private readonly sweepTimer: NodeJS.Timeout
  private accepting = true
  private readonly server: Server
  private readonly collab: CollabServer
  private readonly options: WsAdapterOptions
  private readonly logger: Logger
  private readonly listeners: ReturnType<WsAdapter['socketListeners']>

  constructor(
    server: Server,
    collab: CollabServer,
    options: WsAdapterOptions,
    logger: Logger,
  ) {
    this.server = server
    this.collab = collab
    this.options = options
    this.logger = logger
    this.listeners = this.socketListeners()
    this.clientCap = new ClientSocketCap(options.maxSocketsPerClient)
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false, clientTracking: false })
    server.on('upgrade', this.onUpgrade)
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(SWEEP_MS, options.pingIntervalMs))
    this.sweepTimer.unref()
  }

  get socketCount(): number {
    return this.sockets.size
  }

  /** Stops accepting, closes every socket with 1012 and waits (bounded) for them to go. */
  async close(timeoutMs: number): Promise<void> {
    this.accepting = false
    clearInterval(this.sweepTimer)
    this.server.off('upgrade', this.onUpgrade)
    this.collab.closeAll(CloseCode.serviceRestart, 'server restarting')
    const deadline = Date.now() + timeoutMs
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    for (const ws of this.sockets.keys()) ws.terminate()
    this.wss.close()
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy())
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (!url.pathname.startsWith(COLLAB_PATH)) return refuse(socket, 404, 'Not Found')
    if (!this.accepting) return refuse(socket, 503, 'Service Unavailable')
    if (!this.countClient(req, socket)) return refuse(socket, 429, 'Too Many Connections')
    const room = url.pathname.slice(COLLAB_PATH.length)
    this.admitAndUpgrade(req, socket, head, room, url.searchParams.get('token') ?? undefined).catch((error: unknown) => {
      this.logger.error({ err: error, room }, 'upgrade failed')
      socket.destroy()
    })
  }

  /** Behind a trusted proxy, counts the socket against its client's cap until it closes; false if over it. */
  private countClient(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.options.clients.isTrustedProxy(req.socket.remoteAddress ?? '')) return true // the TCP cap counted it
    const client = this.options.clients.of(req)
    if (!this.clientCap.take(client)) {
      this.logger.debug({ client }, 'WebSocket cap reached for a client behind the proxy')
      return false
    }
    socket.once('close', () => this.clientCap.release(client))
    return true
  }

  private async admitAndUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, room: string, token: string | undefined): Promise<void> {
    let admission: Admission | undefined
    let settled = false
    // Exactly one of: the handshake completes (the connection then owns the hold) or we let go.
    const letGo = (): void => {
      if (settled || !admission) return
      settled = true
      this.collab.abandon(admission)
    }
    socket.once('close', letGo)
    const pending = this.collab.admit(room, token)
    try {
      admission = await withDeadline(pending, this.options.admissionTimeoutMs)
    } catch (error) {
      void pending.then((late) => this.collab.abandon(late), () => undefined)
      this.logger.warn({ err: error, room }, 'admission failed')
      admission = { ok: false, code: CloseCode.tryAgainLater, reason: 'service unavailable, try again later' }
    }
    if (socket.destroyed) return letGo()
    const accepted = admission
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (settled) return ws.terminate()
      settled = true
      socket.off('close', letGo) // the connection owns the hold now; an idle socket keeps no closure for it
      if (!accepted.ok) return ws.close(accepted.code, accepted.reason)
      try {
        this.attach(ws, this.collab.connect(accepted, new WsTransport(ws)))
      } catch (error) {
        // An event callback: a throw here would be an uncaught exception.
        this.logger.error({ err: error, room }, 'could not attach an admitted socket')
        this.collab.abandon(accepted)
        ws.close(CloseCode.internalError, 'internal error')
      }
    })
  }

  private attach(ws: WebSocket, handle: SocketHandle): void {
    this.sockets.set(ws, { alive: true, lastPingAt: Date.now(), handle })
    // One set of listeners for every socket (`this` is the socket): an idle socket then holds
    // no closures of its own.
    ws.on('message', this.listeners.message)
    ws.on('pong', this.listeners.pong)
    ws.on('error', this.listeners.error)
    ws.on('close', this.listeners.close)
  }

  private socketListeners() {
    const sockets = this.sockets
    const logger = this.logger
    return {
      message(this: WebSocket, data: RawData, isBinary: boolean): void {
        sockets.get(this)?.handle.receive(toBytes(data), isBinary)
      },
      pong(this: WebSocket): void {
        const tracked = sockets.get(this)
        if (tracked) tracked.alive = true
      },
      error(this: WebSocket, error: Error): void {
        logger.debug({ err: error }, 'socket error')
      },
      close(this: WebSocket): void {
        const tracked = sockets.get(this)
        if (!tracked) return
        sockets.delete(this)
        tracked.handle.closed()
      },
    }
  }

  /** Pings on schedule, cuts sockets that missed the last pong, and feeds client watchdogs. */
  private sweep(): void {
    const now = Date.now()
    for (const [ws, tracked] of this.sockets) {
      if (now - tracked.lastPingAt < this.options.pingIntervalMs) continue
      if (!tracked.alive) {
        ws.terminate()
        continue
      }
      tracked.alive = false
      tracked.lastPingAt = now
      ws.ping()
    }
    this.collab.keepAlive(now)
  }
}

/**
 * A socket as the protocol sees it. Frames sent to one socket in one burst of work (a committed
 * batch relayed to a room, a sync answer) leave in one write: the socket is corked at the first
 * and uncorked once the current turn's callbacks are done. Each write is a syscall that, on
 * loopback and behind proxies alike, costs far more than its bytes; a busy room's reader gets
 * several frames per turn. A class, not closures: thousands of idle sockets share its methods.
 */
class WsTransport implements Transport {
  private readonly ws: WebSocket
  /** ws has no cork of its own; its socket (a net.Socket, or a TLS one) has. */
  private readonly socket: Duplex | undefined
  private corked = false

  constructor(ws: WebSocket) {
    this.ws = ws
    const socket = (ws as unknown as { _socket?: Duplex })._socket
    this.socket = typeof socket?.cork === 'function' ? socket : undefined
  }

  send(frame: Uint8Array): void {
    if (this.socket && !this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(uncork, this)
    }
    this.ws.send(frame)
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason)
    setTimeout(terminate, CLOSE_GRACE_MS, this.ws).unref()
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  uncork(): void {
    this.corked = false
    this.socket?.uncork()
  }
}

function uncork(transport: WsTransport): void {
  transport.uncork()
}

function terminate(ws: WebSocket): void {
  ws.terminate()
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`admission took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
