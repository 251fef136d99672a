/**
 * A watchdog for the MongoDB driver's server monitor. The driver learns that a server is back
 * only from its monitor's heartbeats; until one succeeds, every operation fails server selection.
 * Driver 7.9 can lose a heartbeat for good: when the monitor's socket has been destroyed but the
 * driver has not yet seen it close, the heartbeat's write waits for a `drain` that never comes,
 * the monitor never checks again, and the node stays "storage down" forever after MongoDB
 * returns (seen in our MongoDB-stopped fault test under load: one heartbeat started, none ended
 * for 40 s). Heartbeats are public events, so a heartbeat pending much longer than any answer can
 * take is noticed here, and the client is closed and connected again: a fresh topology with fresh
 * monitors. The client's `Db` and collection objects stay valid across that (they resolve the
 * topology per operation); operations in flight fail and are retried by their callers.
 */
import type { MongoClient } from 'mongodb'
import { BackgroundLoop, type BackgroundFailures } from '../../background-loop.ts'
import type { Logger } from '../../logger.ts'

/** Heartbeats started and not yet ended, per server address. */
export class PendingHeartbeats {
  private readonly startedAt = new Map<string, number>()

  started(address: string, at: number): void {
    this.startedAt.set(address, at)
  }

  ended(address: string): void {
    this.startedAt.delete(address)
  }

  /** Addresses whose heartbeat has been pending longer than `limitMs` at `now`. */
  stuck(now: number, limitMs: number): string[] {
    return [...this.startedAt].filter(([, at]) => now - at > limitMs).map(([address]) => address)
  }

  clear(): void {
    this.startedAt.clear()
  }
}

export interface WatchdogOptions {
  /** The longest a heartbeat can take: the driver's await time (heartbeat frequency) plus its connect timeout. */
  heartbeatLimitMs: number
  everyMs: number
  logger: Logger
  failures: BackgroundFailures
  now?: () => number
}

interface HeartbeatEvent {
  connectionId: string
}

export class MonitorWatchdog {
  private readonly client: MongoClient
  private readonly options: WatchdogOptions
  private readonly pending = new PendingHeartbeats()
  private readonly loop: BackgroundLoop
  /** Closed and not yet connected again: connecting is retried on every run until it succeeds. */
  private disconnected = false
  /** Times the client was reconnected because a heartbeat was stuck. */
  restarts = 0

  constructor(client: MongoClient, options: WatchdogOptions) {
    this.client = client
    this.options = options
    const now = options.now ?? Date.now
    client.on('serverHeartbeatStarted', (event: HeartbeatEvent) => this.pending.started(event.connectionId, now()))
    client.on('serverHeartbeatSucceeded', (event: HeartbeatEvent) => this.pending.ended(event.connectionId))
    client.on('serverHeartbeatFailed', (event: HeartbeatEvent) => this.pending.ended(event.connectionId))
    this.loop = new BackgroundLoop(() => this.check(now()), { name: 'mongodb-monitor-watchdog', everyMs: options.everyMs, logger: options.logger, failures: options.failures })
  }

  start(): void {
    this.loop.start()
  }

  stop(): Promise<void> {
    return this.loop.stop()
  }

  /** One look: reconnects a client whose monitor is stuck, or finishes a reconnect that failed. */
  async check(now: number): Promise<void> {
    if (!this.disconnected) {
      const stuck = this.pending.stuck(now, this.options.heartbeatLimitMs)
      if (stuck.length === 0) return
      this.options.logger.warn({ servers: stuck, limitMs: this.options.heartbeatLimitMs }, 'MongoDB server monitor stuck in a heartbeat; reconnecting the client')
      this.restarts++
      this.options.failures.record('mongodb-monitor-stuck')
      this.disconnected = true
      await this.client.close()
      this.pending.clear()
    }
    await this.client.connect() // throws while MongoDB is down: the loop retries
    this.disconnected = false
  }
}
