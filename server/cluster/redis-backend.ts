/**
 * What the log, the bus, the presence relay and the lease need from Redis, the same on one Redis
 * (`RedisClients`) and on a Redis Cluster (`RedisClusterClients`). Only commands that name their
 * keys are offered, so on a cluster each is routed to its slot's master (and follows MOVED/ASK);
 * blocking reads get connections of their own, one per bucket (redis-keyspace.ts).
 */
import type { RedisClient, BinaryRedisClient, RedisLiveness } from './redis-clients.ts'
import type { RedisKeyspace } from './redis-keyspace.ts'

/** Commands routed by their first key (a cluster sends each to its slot's master). */
export type KeyedCommands = Pick<RedisClient, 'get' | 'set' | 'del' | 'sAdd' | 'sRem' | 'sMembers' | 'xLen' | 'xAdd' | 'xInfoStream' | 'evalSha' | 'eval' | 'hSet' | 'hGetAll' | 'hDel' | 'pExpire'>
export type BinaryKeyedCommands = Pick<BinaryRedisClient, 'xRange'>

/** Pub/sub on one kind of channel. Listeners get the raw message. */
export interface Channels {
  publish(channel: string, message: string | Buffer): Promise<number>
  subscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
  unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
}

export type StreamReply = Array<{ name: Buffer | string; messages: Array<{ id: Buffer | string; message: Record<string, Buffer | undefined> }> }> | null

/** A connection that may block in XREAD, with a way to interrupt it (CLIENT UNBLOCK on the same server). */
export interface BlockingConnection {
  readonly isReady: boolean
  xRead(streams: Array<{ key: string; id: string }>, options: { BLOCK: number; COUNT: number }): Promise<StreamReply>
  clientId(): Promise<number>
  ping(): Promise<unknown>
  /** CLIENT UNBLOCK `id` on the server this connection reads from: 1 if a read was interrupted. */
  unblock(id: number): Promise<number>
  /** Called whenever the connection is lost or moves to another server (what it read may have gaps). */
  onReconnecting(listener: () => void): void
  close(): Promise<void>
}

export interface RedisBackend {
  readonly liveness: RedisLiveness
  readonly keyed: KeyedCommands
  readonly binaryKeyed: BinaryKeyedCommands
  /** Node-wide channels (access events, heartbeats): every node hears them. */
  readonly nodeChannels: Channels
  /** Per-room channels (presence): sharded pub/sub on a cluster, so only the room's master carries them. */
  readonly roomChannels: Channels
  keyspace(prefix: string): RedisKeyspace
  /** The blocking reader of one bucket (created on first use, then the same one). */
  blockingReader(bucket: number): BlockingConnection
  /** `command`, failing with RedisTimeoutError if Redis has not answered within `timeoutMs`. */
  timed<T>(command: Promise<T>, what?: string): Promise<T>
  /**
   * Resolves once the writes sent so far to `key`'s master reached the replicas an
   * acknowledgement needs (REDIS_WAIT_REPLICAS); throws if they did not in time.
   */
  replicated(key: string): Promise<void>
  /** A bucket's reader says whether its reads are answered in time. */
  reportReader(bucket: number, answering: boolean): void
  isUp(): boolean
  /** Whether commands can be sent now (presence, which is ephemeral, is not sent otherwise). */
  commandsReady(): boolean
  onHealth(listener: (up: boolean) => void): () => void
  /** Calls `listener` whenever commands can be sent again after a connection was lost. */
  onCommandsReady(listener: () => void): void
  /** Calls `listener` after the subscriber connection(s) came back (messages may have been missed). */
  onSubscriberReconnect(listener: () => void): void
  close(): Promise<void>
}
