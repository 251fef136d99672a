/**
 * A room's presence (awareness) traffic: what its sockets send, what other nodes relay, what a
 * joining socket is sent, and the periodic expiry. The rules (who may hold which client id,
 * clocks, bounds) are Presence's; this adds the budgets, the relay to other nodes and the wait
 * for their claims when the room has just loaded here (PresenceHearing).
 */
import { CloseCode } from '../../../shared/close-codes.ts'
import type { Logger } from '../../logger.ts'
import type { Connection } from '../wire/connection.ts'
import type { CollabObserver } from '../observer.ts'
import { awarenessFrame } from '../wire/outbound.ts'
import { Presence, encodePresence, type PresenceChange } from './presence.ts'
import { PresenceHearing } from './presence-hearing.ts'
import { encodePresenceAnswer, encodeRelayedPresence, type RelayedClaim } from './presence-relay-codec.ts'
import { ProtocolError, rejectFrame } from '../wire/protocol-error.ts'
import type { RoomBudgets } from '../room/room-budgets.ts'

export interface RoomAwarenessDeps {
  room: string
  limits: { maxIdsPerSocket: number; outdatedMs: number }
  budgets: RoomBudgets
  /** The user a client id is bound to in the document, if any. */
  boundTo(client: number): string | undefined
  /** Sends a frame to every socket of the room but `except`. */
  broadcast(frame: Uint8Array, except: Connection | null): void
  /** Presence changed here; other nodes should hear it (no-op on a single node). */
  publish(update: Uint8Array): void
  logger: Logger
  observer: CollabObserver
}

type SocketEntries = Parameters<Presence['fromSocket']>[1]
type RemoteEntries = Parameters<Presence['fromRemote']>[1]

const SWEEP_MS = 5_000

export class RoomAwareness {
  /** Whether the other nodes' presence claims are known here yet (writes and presence wait). */
  readonly hearing = new PresenceHearing()
  private readonly presence: Presence
  private readonly deps: RoomAwarenessDeps
  private timer: NodeJS.Timeout | undefined

  constructor(deps: RoomAwarenessDeps) {
    this.deps = deps
    this.presence = new Presence({ ...deps.limits, boundTo: deps.boundTo })
  }

  start(): void {
    this.timer = setInterval(() => this.spread(this.presence.expire(Date.now()), null), SWEEP_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** The user who claimed a client id in presence (on any node), if any. */
  claimedBy(client: number): string | undefined {
    return this.presence.claimedBy(client)
  }

  /** Whether a client id has a present state here. */
  has(clientId: number): boolean {
    return this.presence.has(clientId)
  }

  /** A socket joined: it is sent every state, when its user's budget pays for them. */
  greet(conn: Connection): void {
    const states = this.presence.states()
    if (!states) return
    const frame = awarenessFrame(states)
    if (this.deps.budgets.payJoin(conn, frame.length)) conn.send(frame)
  }

  /** A socket left: its states go, for everyone. */
  leave(conn: Connection): void {
    this.hearing.forget(conn)
    this.spread(this.presence.release(conn, Date.now()), null)
  }

  /** An awareness message from a socket; throws ProtocolError for one it may not send. */
  receive(conn: Connection, entries: SocketEntries): void {
    if (!this.hearing.isHeard) {
      if (this.hearing.hold(conn, entries)) return
      throw new ProtocolError(CloseCode.rateLimited, 'too much presence before the room has heard the other nodes\' presence')
    }
    const bytes = entries.reduce((sum, e) => sum + e.json.length + 8, 0)
    const changes = this.presence.fromSocket(conn, entries, Date.now())
    if (changes.length === 0) return
    if (!this.deps.budgets.payPresence(conn, bytes)) {
      throw new ProtocolError(CloseCode.rateLimited, 'presence budget spent: too many or too large presence updates')
    }
    this.spread(changes, conn)
  }

  /** A one-byte query answered with every state in the room: paid like a sync answer. */
  answerQuery(conn: Connection): void {
    const frame = awarenessFrame(this.presence.states() ?? encodePresence([]))
    if (!this.deps.budgets.paySync(conn, frame.length, false)) {
      throw new ProtocolError(CloseCode.rateLimited, 'sync budget spent: too many presence queries')
    }
    conn.send(frame)
  }

  /** Presence from another node (stamped there, with who holds each id). */
  fromRemote(node: string, entries: RemoteEntries): void {
    this.spread(this.presence.fromRemote(node, entries, Date.now()), null)
  }

  /** Drops relayed states of clients whose node died. */
  dropRemote(ids: number[]): void {
    this.spread(this.presence.dropRemote(ids, Date.now()), null)
  }

  /** Claims another node remembers (its answer to this node's query). */
  learn(claims: RelayedClaim[]): void {
    this.presence.learn(claims)
  }

  /** For another node that just loaded the room: this node's sockets' states and every claim it remembers. */
  answerForNode(): Uint8Array {
    return encodePresenceAnswer(this.presence.localStates(), this.presence.knownClaims())
  }

  /** The other nodes' presence is known here now: held presence is judged, waiting writes go on. */
  heard(isMember: (conn: Connection) => boolean): void {
    for (const { conn, entries } of this.hearing.settle()) {
      if (conn.isClosed || !isMember(conn)) continue
      try {
        this.receive(conn, entries)
      } catch (error) {
        rejectFrame(conn, error, { room: this.deps.room, logger: this.deps.logger, observer: this.deps.observer })
      }
    }
  }

  /** Sends changes to this node's sockets (not `from`, unless meant for it too), and this node's own to the others. */
  private spread(changes: PresenceChange[], from: Connection | null): void {
    if (changes.length === 0) return
    const toAll = changes.filter((c) => c.toSender)
    const rest = changes.filter((c) => !c.toSender)
    if (toAll.length > 0) this.deps.broadcast(awarenessFrame(encodePresence(toAll)), null)
    if (rest.length > 0) this.deps.broadcast(awarenessFrame(encodePresence(rest)), from)
    const local = changes.filter((c) => c.local)
    if (local.length > 0) this.deps.publish(encodeRelayedPresence(local))
  }
}
