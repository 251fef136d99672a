/**
 * Presence across nodes: ephemeral, over pub/sub, never persisted. Each hot room subscribes to
 * its channel; when a room loads on a node it asks the others for their sockets' states. A dead
 * node's states stop being renewed and expire everywhere after y-protocols' 30 s timeout.
 *
 * Frame: [kind (0 update, 1 query)][sender node id][awareness update].
 */
import type { Logger } from '../logger.ts'
import type { RedisClient } from './redis-clients.ts'

export interface RoomPresence {
  apply(update: Uint8Array): void
  /** This node's own sockets' states, or null if none. */
  local(): Uint8Array | null
}

export interface AwarenessRelay {
  publish(room: string, update: Uint8Array): void
  /** Starts relaying a hot room; returns the function that stops it. */
  join(room: string, presence: RoomPresence): () => void
}

export const noRelay: AwarenessRelay = { publish: () => {}, join: () => () => {} }

const UPDATE = 0
const QUERY = 1

export class RedisAwarenessRelay implements AwarenessRelay {
  private readonly cmd: RedisClient
  private readonly sub: RedisClient
  private readonly prefix: string
  private readonly nodeId: Buffer
  private readonly logger: Logger

  constructor(options: { cmd: RedisClient; sub: RedisClient; prefix: string; nodeId: string; logger: Logger }) {
    this.cmd = options.cmd
    this.sub = options.sub
    this.prefix = options.prefix
    this.nodeId = Buffer.from(options.nodeId)
    this.logger = options.logger
  }

  publish(room: string, update: Uint8Array): void {
    this.send(room, UPDATE, update)
  }

  join(room: string, presence: RoomPresence): () => void {
    const channel = this.channel(room)
    const listener = (message: Buffer): void => this.receive(room, message, presence)
    this.sub.subscribe(channel, listener, true)
      .then(() => this.send(room, QUERY, new Uint8Array()))
      .catch((error: unknown) => this.logger.warn({ err: error, room }, 'presence relay subscribe failed'))
    return () => void this.sub.unsubscribe(channel, listener, true).catch(() => undefined)
  }

  private receive(room: string, message: Buffer, presence: RoomPresence): void {
    const sender = message.subarray(1, 1 + this.nodeId.length)
    if (sender.equals(this.nodeId)) return
    const payload = message.subarray(1 + this.nodeId.length)
    if (message[0] === UPDATE) presence.apply(new Uint8Array(payload))
    else if (message[0] === QUERY) {
      const states = presence.local()
      if (states) this.send(room, UPDATE, states)
    }
  }

  private send(room: string, kind: number, payload: Uint8Array): void {
    if (!this.cmd.isReady) return // presence is ephemeral: renewals follow within 15 s
    const frame = Buffer.concat([Buffer.from([kind]), this.nodeId, payload])
    this.cmd.publish(this.channel(room), frame).catch(() => undefined)
  }

  private channel(room: string): string {
    return `${this.prefix}aw:${room}`
  }
}
