/**
 * The y-websocket protocol server, independent of the socket library: admission (room name,
 * authorization, room load), then one Connection per socket whose frames are each decoded and
 * handled inside their own error boundary.
 */
import { CloseCode, type CloseCodeValue } from '../../shared/close-codes.ts'
import { parseRoomName, roomName, ROOM_KINDS } from '../../shared/rooms.ts'
import type { Logger } from '../logger.ts'
import type { Authorizer } from './authorizer.ts'
import { Connection, type ConnectionLimits } from './wire/connection.ts'
import { decodeInbound } from './wire/inbound.ts'
import { KEEPALIVE_FRAME } from './wire/outbound.ts'
import type { CollabObserver } from './observer.ts'
import type { Principal, Role } from './principal.ts'
import { ProtocolError, rejectFrame } from './wire/protocol-error.ts'
import type { Room } from './room/room.ts'
import { RoomGoneError, type RoomRegistry } from './room/room-registry.ts'
import type { Transport } from './wire/transport.ts'

export type Admission =
  | { ok: true; room: Room; principal: Principal }
  | { ok: false; code: CloseCodeValue; reason: string }

export interface CollabDeps {
  registry: RoomRegistry
  authorizer: Authorizer
  logger: Logger
  limits: ConnectionLimits
  maxPresenceStateBytes: number
  observer: CollabObserver
}

/** What the adapter calls for one accepted socket. */
export interface SocketHandle {
  receive(frame: Uint8Array, isBinary: boolean): void
  closed(): void
}

/** Clients that have heard nothing for this long get a no-op frame (y-websocket drops after 30 s). */
const KEEPALIVE_AFTER_MS = 15_000

export class CollabServer {
  private readonly connections = new Map<Connection, Room>()

  private readonly deps: CollabDeps

  constructor(deps: CollabDeps) {

    this.deps = deps
  }

  async admit(name: string, token: string | undefined): Promise<Admission> {
    const ref = parseRoomName(name)
    if (!ref) return { ok: false, code: CloseCode.notFound, reason: 'no such room' }
    const auth = await this.deps.authorizer.authorize(ref, token)
    if (!auth.ok) return auth
    try {
      return { ok: true, room: await this.deps.registry.acquire(name), principal: auth.principal }
    } catch (error) {
      if (error instanceof RoomGoneError) return { ok: false, code: CloseCode.notFound, reason: 'group deleted' }
      this.deps.observer.roomLoadFailed()
      this.deps.logger.error({ err: error, room: name }, 'room could not be loaded')
      return { ok: false, code: CloseCode.tryAgainLater, reason: 'room unavailable, try again later' }
    }
  }

  /** The socket vanished between admission and handshake. */
  abandon(admission: Admission): void {
    if (admission.ok) this.deps.registry.release(admission.room)
  }

  connect(admission: Admission & { ok: true }, transport: Transport): SocketHandle {
    const { room, principal } = admission
    const conn = new Connection(transport, principal, this.deps.limits, this.deps.observer)
    this.connections.set(conn, room)
    if (room.discarded || room.isClosed) conn.close(CloseCode.notFound, 'group deleted') // deleted while this socket was admitted
    else room.join(conn)
    return {
      receive: (frame, isBinary) => this.receive(conn, room, frame, isBinary),
      closed: () => this.disconnect(conn, room),
    }
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** A member's role changed (null: removed); their open sockets follow within the call. */
  applyRole(groupId: string, userId: string, role: Role | null): void {
    for (const kind of ROOM_KINDS) this.deps.registry.get(roomName(groupId, kind))?.applyRole(userId, role)
  }

  /**
   * Re-checks every open socket's role (after access events may have been missed): sockets of
   * users who are no longer members close with 4403, changed roles apply.
   */
  async revalidate(roleOf: (groupId: string, userId: string) => Promise<Role | null>): Promise<void> {
    for (const [conn, room] of [...this.connections]) {
      const ref = parseRoomName(room.name)
      if (!ref) continue
      try {
        room.applyRole(conn.principal.userId, await roleOf(ref.groupId, conn.principal.userId))
      } catch (error) {
        this.deps.logger.warn({ err: error, room: room.name }, 'could not re-check a socket\'s role')
      }
    }
  }

  /** Keeps quiet clients' watchdogs fed. Called periodically by the adapter. */
  keepAlive(now = Date.now()): void {
    for (const conn of this.connections.keys()) {
      if (now - conn.lastSentAt >= KEEPALIVE_AFTER_MS) conn.send(KEEPALIVE_FRAME)
    }
  }

  /** Closes every socket (shutdown) with the given code. */
  closeAll(code: CloseCodeValue, reason: string): void {
    for (const conn of [...this.connections.keys()]) conn.close(code, reason)
  }

  private receive(conn: Connection, room: Room, frame: Uint8Array, isBinary: boolean): void {
    if (conn.isClosed) return
    this.deps.observer.frameIn(frame.length)
    try {
      if (!isBinary) throw new ProtocolError(CloseCode.unsupportedData, 'binary frames only')
      room.handle(conn, decodeInbound(frame, this.deps.maxPresenceStateBytes))
    } catch (error) {
      this.reject(conn, room, error)
    }
  }

  private reject(conn: Connection, room: Room, error: unknown): void {
    rejectFrame(conn, error, { room: room.name, logger: this.deps.logger, observer: this.deps.observer })
  }

  private disconnect(conn: Connection, room: Room): void {
    if (!this.connections.delete(conn)) return
    conn.markClosed()
    room.leave(conn)
    this.deps.registry.release(room)
  }
}
