/**
 * Presence across nodes: ephemeral, over pub/sub, never persisted. Each hot room subscribes to
 * its channel; when a room loads on a node it asks the others for their sockets' states and the
 * claims they remember, and every node that has the room hot answers.
 *
 * Until a node has heard those answers it cannot tell a member's client id from a free one (her
 * claim is on the other node), so its room holds whatever could take an id (writes, presence)
 * and is told `heard` once every other subscriber of the channel answered (PUBLISH says how many
 * got the query), or after HEAR_WITHIN_MS at most: a node that stays silent (evicting the room as
 * the query arrived, hung, cut off) must not hold writes for long. No relay (a single node): heard
 * at once.
 *
 * Nodes heartbeat on a shared channel. Relayed states remember the node they came from, and
 * when a node falls silent its clients' states are dropped within seconds (y-protocols alone
 * would keep them for 30 s).
 *
 * Frames (relay-frame.ts) carry the presence format: kinds update, query, answer and heartbeat,
 * the sender, and a payload (states with their owners, nothing, states and claims:
 * presence-relay-codec.ts). Every frame and heartbeat is sent in the format every live node reads
 * (format-negotiator.ts); a frame this node cannot read is dropped and counted. A query is answered
 * in the format it came in (or, from a newer node, in this node's newest, which that node reads),
 * and when the formats change while a room still waits for answers it asks again in the new one,
 * so a node never waits for answers that cannot come.
 */
import { DecodeError } from '../collab/wire/bounded-reader.ts'
import { FormatNegotiator } from './format-negotiator.ts'
import { decodeRelayFrame, encodeRelayFrame, RelayKind, type RelayFrame, type RelayHeader } from './relay-frame.ts'
import { CURRENT_GENERATION, LEGACY_GENERATION } from './wire-format.ts'
import { decodePresenceAnswer, decodeRelayedPresence, type RelayedClaim, type RelayedPresence } from '../collab/presence/presence-relay-codec.ts'
import type { Logger } from '../logger.ts'
import type { Channels } from './redis-backend.ts'
import type { RedisKeyspace } from './redis-keyspace.ts'

export interface RoomPresence {
  /** States relayed from `node` (stamped with their owner there). */
  apply(node: string, entries: RelayedPresence[]): void
  /** Claims another node remembers (ids whose holder may have no state anywhere now). */
  learn(claims: RelayedClaim[]): void
  /** Drops states of clients whose node died. */
  remove(clientIds: number[]): void
  /** What this node tells a node that just loaded the room: its sockets' states and the claims it remembers. */
  answer(): Uint8Array
  /** The other nodes' presence has been heard (or the wait for it ran out); called once. */
  heard(): void
}

export interface AwarenessRelay {
  publish(room: string, update: Uint8Array): void
  /** Starts relaying a hot room; returns the function that stops it. */
  join(room: string, presence: RoomPresence): () => void
  close(): Promise<void>
}

export const noRelay: AwarenessRelay = {
  publish: () => {},
  join: (_room, presence) => {
    presence.heard() // nobody else to hear
    return () => {}
  },
  close: async () => {},
}

/**
 * Longest a room that just loaded waits for the other nodes' answers. Answers take one round trip
 * through Redis; this only bounds the wait when a node that got the query never answers.
 */
const HEAR_WITHIN_MS = 2_000
const HEARTBEAT_MS = 2_000
/** A node silent this long is taken for dead and its clients' presence dropped. */
const NODE_DEAD_AFTER_MS = 7_000

interface Joined {
  presence: RoomPresence
  /** Relayed client id → the node it is connected to. */
  origins: Map<number, string>
  /** Nodes whose answer arrived since this node joined. */
  answered: Set<string>
  /** How many other nodes got this node's query (null until PUBLISH says). */
  queried: number | null
  /** Set once `heard` was called. */
  settled: boolean
  backstop: NodeJS.Timeout | undefined
}

export class RedisAwarenessRelay implements AwarenessRelay {
  private readonly rooms: Channels
  private readonly nodes: Channels
  private readonly isReady: () => boolean
  private readonly keys: RedisKeyspace
  private readonly prefix: string
  private readonly nodeId: string
  private readonly logger: Logger
  private readonly joined = new Map<string, Joined>()
  private readonly lastSeen = new Map<string, number>()
  private readonly timer: NodeJS.Timeout
  private readonly formats: FormatNegotiator
  private readonly stopFollowingFormats: () => void

  /** `formats`: what to send and read (default: this release's newest, no registry). */
  constructor(options: { roomChannels: Channels; nodeChannels: Channels; isReady: () => boolean; keyspace: RedisKeyspace; prefix: string; nodeId: string; logger: Logger; formats?: FormatNegotiator }) {
    this.rooms = options.roomChannels
    this.nodes = options.nodeChannels
    this.isReady = options.isReady
    this.keys = options.keyspace
    this.prefix = options.prefix
    this.nodeId = options.nodeId
    this.logger = options.logger
    this.formats = options.formats ?? new FormatNegotiator({ nodeId: this.nodeId, generation: CURRENT_GENERATION, registry: null, logger: this.logger })
    this.stopFollowingFormats = this.formats.onChange(() => this.askAgain())
    this.nodes.subscribe(this.heartbeats(), (message) => this.heartbeat(message)).catch(() => undefined)
    this.timer = setInterval(() => this.tick(), HEARTBEAT_MS)
    this.timer.unref()
  }

  publish(room: string, update: Uint8Array): void {
    this.send(room, RelayKind.update, update)
  }

  join(room: string, presence: RoomPresence): () => void {
    const channel = this.channel(room)
    const listener = (message: Buffer): void => this.receive(room, message)
    const joined: Joined = { presence, origins: new Map(), answered: new Set(), queried: null, settled: false, backstop: undefined }
    joined.backstop = setTimeout(() => this.settle(room, joined, 'some nodes did not answer in time'), HEAR_WITHIN_MS)
    joined.backstop.unref()
    this.joined.set(room, joined)
    this.rooms.subscribe(channel, listener)
      .then(() => this.query(room, joined))
      .catch((error: unknown) => {
        this.logger.warn({ err: error, room }, 'presence relay subscribe failed')
        this.settle(room, joined, 'not subscribed: nothing to hear')
      })
    return () => {
      clearTimeout(joined.backstop)
      if (this.joined.get(room) === joined) this.joined.delete(room)
      void this.rooms.unsubscribe(channel, listener).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.stopFollowingFormats()
    for (const joined of this.joined.values()) clearTimeout(joined.backstop)
    this.joined.clear()
  }

  /** Asks the other nodes for their presence; PUBLISH's count says how many answers to wait for. */
  private async query(room: string, joined: Joined): Promise<void> {
    if (!this.isReady()) return this.settle(room, joined, 'redis not ready: nobody to ask')
    const frame = this.frame(RelayKind.query, new Uint8Array())
    try {
      // This node's own subscription got the query too.
      joined.queried = Math.max(0, (await this.rooms.publish(this.channel(room), frame)) - 1)
    } catch (error) {
      this.logger.warn({ err: error, room }, 'presence query failed')
      return this.settle(room, joined, 'the query was not sent')
    }
    this.settleIfAnswered(room, joined)
  }

  private settleIfAnswered(room: string, joined: Joined): void {
    if (joined.queried !== null && joined.answered.size >= joined.queried) this.settle(room, joined, null)
  }

  /** Tells the room it has heard what it will hear; `shortOf` says why some answers may be missing. */
  private settle(room: string, joined: Joined, shortOf: string | null): void {
    if (joined.settled || this.joined.get(room) !== joined) return // settled, or the room left meanwhile
    joined.settled = true
    clearTimeout(joined.backstop)
    if (shortOf) this.logger.info({ room, reason: shortOf, answered: joined.answered.size, queried: joined.queried }, 'judging presence claims without every node\'s answer')
    joined.presence.heard()
  }

  /** The formats changed: rooms still waiting ask again, in a format every node now reads. */
  private askAgain(): void {
    for (const [room, joined] of this.joined) if (!joined.settled && joined.queried !== null) void this.query(room, joined)
  }

  private receive(room: string, message: Buffer): void {
    const joined = this.joined.get(room)
    if (!joined) return
    const read = decodeRelayFrame(message, { reads: (v) => this.formats.reads('presence', v), legacySenderLength: this.nodeId.length })
    if (!read.ok) return this.unreadable(room, joined, read.reason, read.header)
    const { sender, kind, payload } = read.frame
    if (sender === this.nodeId) return
    this.heard(read.frame)
    if (kind === RelayKind.query) {
      // Always, even empty: the asker counts answers. In the query's format, which the asker reads.
      this.send(room, RelayKind.answer, joined.presence.answer(), this.replyVersion(read.frame.version))
    } else if (kind === RelayKind.update) {
      const entries = this.parse(payload, room, decodeRelayedPresence)
      if (!entries) return
      this.remember(joined, sender, entries)
      joined.presence.apply(sender, entries)
    } else if (kind === RelayKind.answer) {
      this.receiveAnswer(room, joined, sender, payload)
    }
  }

  /**
   * A frame this node cannot read: dropped and counted. A newer node's query is still answered (in
   * this node's newest format, which the newer node reads), so it does not wait for this node.
   * Releases before versioned frames could not read their header at all; acting as one, neither does this.
   */
  private unreadable(room: string, joined: Joined, reason: 'unknown_version' | 'malformed', header: RelayHeader | null): void {
    this.formats.dropped('presence', reason)
    if (!header || header.sender === this.nodeId || this.formats.own.generation === LEGACY_GENERATION) return
    this.seen(header.sender)
    if (header.kind === RelayKind.query) this.send(room, RelayKind.answer, joined.presence.answer(), this.replyVersion(header.version))
  }

  /** The asker's version if this node writes it, else this node's newest (an asker reads every older one). */
  private replyVersion(asked: number): number {
    const writes = this.formats.own.writes.presence
    return writes.includes(asked) ? asked : Math.max(...writes)
  }

  /** Who sent a readable frame: alive, and an old node if it has no version. */
  private heard({ sender, version }: Pick<RelayFrame, 'sender' | 'version'>): void {
    this.seen(sender)
    if (version === 1) this.formats.heardUnversioned(sender)
  }

  private heartbeat(message: Buffer): void {
    const read = decodeRelayFrame(message, { reads: (v) => this.formats.reads('presence', v), legacySenderLength: this.nodeId.length, heartbeat: true })
    if (!read.ok) {
      this.formats.dropped('presence', read.reason)
      // A newer node's heartbeat still says it is alive (its header is readable).
      if (read.header && read.header.sender !== this.nodeId && this.formats.own.generation > LEGACY_GENERATION) this.seen(read.header.sender)
      return
    }
    if (read.frame.kind === RelayKind.heartbeat && read.frame.sender !== this.nodeId) this.heard(read.frame)
  }

  /** Another node's states and claims (for whichever node asked; any node's answer is whole). */
  private receiveAnswer(room: string, joined: Joined, sender: string, payload: Uint8Array): void {
    const answer = this.parse(payload, room, decodePresenceAnswer)
    if (answer) {
      this.remember(joined, sender, answer.states)
      joined.presence.apply(sender, answer.states)
      joined.presence.learn(answer.claims)
    }
    joined.answered.add(sender) // a malformed answer is all that node will say
    this.settleIfAnswered(room, joined)
  }

  private parse<T>(payload: Uint8Array, room: string, decode: (bytes: Uint8Array) => T): T | null {
    try {
      return decode(payload)
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error
      this.formats.dropped('presence', 'malformed')
      this.logger.warn({ err: error, room }, 'ignoring a malformed presence relay')
      return null
    }
  }

  private remember(joined: Joined, sender: string, entries: RelayedPresence[]): void {
    for (const { clientId, json } of entries) {
      if (json.length === 4 && json[0] === 0x6e) joined.origins.delete(clientId) // "null": removed
      else joined.origins.set(clientId, sender)
    }
  }

  private tick(): void {
    if (this.isReady()) this.nodes.publish(this.heartbeats(), this.frame(RelayKind.heartbeat, new Uint8Array())).catch(() => undefined)
    const now = Date.now()
    for (const [node, at] of this.lastSeen) {
      if (now - at < NODE_DEAD_AFTER_MS) continue
      this.lastSeen.delete(node)
      this.forgetNode(node)
    }
  }

  private forgetNode(node: string): void {
    for (const { presence, origins } of this.joined.values()) {
      const ids = [...origins].filter(([, origin]) => origin === node).map(([id]) => id)
      for (const id of ids) origins.delete(id)
      if (ids.length > 0) presence.remove(ids)
    }
    this.logger.info({ node }, 'node silent; dropped its clients\' presence')
  }

  private seen(node: string): void {
    if (node !== this.nodeId) this.lastSeen.set(node, Date.now())
  }

  private send(room: string, kind: RelayKind, payload: Uint8Array, version?: number): void {
    if (!this.isReady()) return // presence is ephemeral: renewals follow within 15 s
    this.rooms.publish(this.channel(room), this.frame(kind, payload, version)).catch(() => undefined)
  }

  private frame(kind: RelayKind, payload: Uint8Array, version = this.formats.sending('presence')): Buffer {
    return encodeRelayFrame({ version, kind, sender: this.nodeId, payload })
  }

  private channel(room: string): string {
    return this.keys.roomChannel('aw', room)
  }

  private heartbeats(): string {
    return `${this.prefix}nodes`
  }
}
