/**
 * Presence across nodes: ephemeral, over pub/sub, never persisted. Each hot room subscribes to
 * its channel; when a room loads on a node it asks the others for their sockets' states.
 *
 * Nodes heartbeat on a shared channel. Relayed states remember the node they came from, and
 * when a node falls silent its clients' states are dropped within seconds (y-protocols alone
 * would keep them for 30 s).
 *
 * Frame: [kind (0 update, 1 query)][sender node id][states with their owners
 * (presence-relay-codec.ts)].
 */
import { DecodeError } from '../collab/bounded-reader.ts'
import { decodeRelayedPresence, type RelayedPresence } from '../collab/presence-relay-codec.ts'
import type { Logger } from '../logger.ts'
import type { RedisClient } from './redis-clients.ts'

export interface RoomPresence {
  /** States relayed from `node` (stamped with their owner there). */
  apply(node: string, entries: RelayedPresence[]): void
  /** Drops states of clients whose node died. */
  remove(clientIds: number[]): void
  /** This node's own sockets' states, or null if none. */
  local(): Uint8Array | null
}

export interface AwarenessRelay {
  publish(room: string, update: Uint8Array): void
  /** Starts relaying a hot room; returns the function that stops it. */
  join(room: string, presence: RoomPresence): () => void
  close(): Promise<void>
}

export const noRelay: AwarenessRelay = { publish: () => {}, join: () => () => {}, close: async () => {} }

const UPDATE = 0
const QUERY = 1
const HEARTBEAT_MS = 2_000
/** A node silent this long is taken for dead and its clients' presence dropped. */
const NODE_DEAD_AFTER_MS = 7_000

interface Joined {
  presence: RoomPresence
  /** Relayed client id → the node it is connected to. */
  origins: Map<number, string>
}

export class RedisAwarenessRelay implements AwarenessRelay {
  private readonly cmd: RedisClient
  private readonly sub: RedisClient
  private readonly prefix: string
  private readonly nodeId: string
  private readonly logger: Logger
  private readonly joined = new Map<string, Joined>()
  private readonly lastSeen = new Map<string, number>()
  private readonly timer: NodeJS.Timeout

  constructor(options: { cmd: RedisClient; sub: RedisClient; prefix: string; nodeId: string; logger: Logger }) {
    this.cmd = options.cmd
    this.sub = options.sub
    this.prefix = options.prefix
    this.nodeId = options.nodeId
    this.logger = options.logger
    this.sub.subscribe(this.heartbeats(), (node: string) => this.seen(node)).catch(() => undefined)
    this.timer = setInterval(() => this.tick(), HEARTBEAT_MS)
    this.timer.unref()
  }

  publish(room: string, update: Uint8Array): void {
    this.send(room, UPDATE, update)
  }

  join(room: string, presence: RoomPresence): () => void {
    const channel = this.channel(room)
    const listener = (message: Buffer): void => this.receive(room, message)
    this.joined.set(room, { presence, origins: new Map() })
    this.sub.subscribe(channel, listener, true)
      .then(() => this.send(room, QUERY, new Uint8Array()))
      .catch((error: unknown) => this.logger.warn({ err: error, room }, 'presence relay subscribe failed'))
    return () => {
      this.joined.delete(room)
      void this.sub.unsubscribe(channel, listener, true).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.joined.clear()
  }

  private receive(room: string, message: Buffer): void {
    const joined = this.joined.get(room)
    const sender = message.subarray(1, 1 + this.nodeId.length).toString()
    if (!joined || sender === this.nodeId) return
    this.seen(sender)
    const payload = new Uint8Array(message.subarray(1 + this.nodeId.length))
    if (message[0] === QUERY) {
      const states = joined.presence.local()
      if (states) this.send(room, UPDATE, states)
    } else if (message[0] === UPDATE) {
      const entries = this.parse(payload, room)
      if (!entries) return
      this.remember(joined, sender, entries)
      joined.presence.apply(sender, entries)
    }
  }

  private parse(payload: Uint8Array, room: string): RelayedPresence[] | null {
    try {
      return decodeRelayedPresence(payload)
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error
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
    if (this.cmd.isReady) this.cmd.publish(this.heartbeats(), this.nodeId).catch(() => undefined)
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

  private send(room: string, kind: number, payload: Uint8Array): void {
    if (!this.cmd.isReady) return // presence is ephemeral: renewals follow within 15 s
    const frame = Buffer.concat([Buffer.from([kind]), Buffer.from(this.nodeId), payload])
    this.cmd.publish(this.channel(room), frame).catch(() => undefined)
  }

  private channel(room: string): string {
    return `${this.prefix}aw:${room}`
  }

  private heartbeats(): string {
    return `${this.prefix}nodes`
  }
}
