/**
 * Access events across nodes over Redis pub/sub. The publishing node handles its own event at
 * once; the others hear it through Redis. Delivery is best effort, and two things make it
 * reliable enough to bound revocation:
 * - an event that cannot be published (Redis away or silent) is kept, in order, and published
 *   again until Redis takes it; later events queue behind it so they never overtake it;
 * - every node re-checks its open sockets against storage at least every REVOCATION_DEADLINE_MS
 *   (groups/access-events.ts), which covers what pub/sub still loses (a subscriber that was
 *   away, a publisher that died with events queued).
 * After the subscriber reconnects every `onGap` handler runs (drop caches, re-check sockets).
 *
 * Each event goes out in the access format every live node reads (event-envelope.ts,
 * cluster/format-negotiator.ts); one this node cannot read is dropped and counted, never guessed at.
 */
import { BackgroundLoop, type BackgroundFailures } from '../background-loop.ts'
import { FormatNegotiator } from '../cluster/format-negotiator.ts'
import type { Channels, RedisBackend } from '../cluster/redis-backend.ts'
import { CURRENT_GENERATION } from '../cluster/wire-format.ts'
import type { Logger } from '../logger.ts'
import type { AccessEvent, AccessEventHandler, EventBus } from './bus.ts'
import { decodeEnvelope, encodeEnvelope } from './event-envelope.ts'

export interface RedisBusOptions {
  prefix: string
  nodeId: string
  logger: Logger
  failures: BackgroundFailures
  /** What to send and read (default: this release's newest, no registry). */
  formats?: FormatNegotiator
}

/** Events kept for republishing at most; older ones are dropped (the socket re-check covers them). */
const MAX_UNPUBLISHED = 10_000
const REPUBLISH_EVERY_MS = 1_000
const REPUBLISH_RETRY_MS = 100

export class RedisBus implements EventBus {
  private readonly handlers = new Set<AccessEventHandler>()
  private readonly gapHandlers = new Set<() => void>()
  private readonly clients: RedisBackend
  private readonly channels: Channels
  private readonly channel: string
  private readonly nodeId: string
  private readonly logger: Logger
  /** Serialized envelopes not yet taken by Redis, oldest first. */
  private readonly unpublished: string[] = []
  private readonly republisher: BackgroundLoop
  private readonly formats: FormatNegotiator

  private constructor(clients: RedisBackend, options: RedisBusOptions) {
    this.clients = clients
    this.channels = clients.nodeChannels
    this.channel = `${options.prefix}events`
    this.nodeId = options.nodeId
    this.logger = options.logger
    this.formats = options.formats ?? new FormatNegotiator({ nodeId: this.nodeId, generation: CURRENT_GENERATION, registry: null, logger: this.logger })
    this.republisher = new BackgroundLoop(() => this.flush(), {
      name: 'access-event-publish', everyMs: REPUBLISH_EVERY_MS, retryMs: REPUBLISH_RETRY_MS, logger: options.logger, failures: options.failures,
    })
    clients.onSubscriberReconnect(() => this.gap())
    clients.onCommandsReady(() => void this.republisher.runNow())
  }

  static async start(clients: RedisBackend, options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(clients, options)
    await bus.channels.subscribe(bus.channel, (message) => bus.receive(message.toString()))
    bus.republisher.start()
    return bus
  }

  /** Delivered here at once; to the other nodes now or, if Redis does not take it, on a retry. */
  async publish(event: AccessEvent): Promise<void> {
    this.deliver(event)
    this.unpublished.push(encodeEnvelope({ version: this.formats.sending('access'), node: this.nodeId, event }))
    if (this.unpublished.length > MAX_UNPUBLISHED) {
      this.unpublished.shift()
      this.logger.warn('dropped an unpublished access event; other nodes catch up by re-checking sockets')
    }
    if (this.unpublished.length === 1) await this.flush().catch((error: unknown) => {
      this.logger.warn({ err: error, event: event.type }, 'could not publish an access event to other nodes yet; retrying')
    })
  }

  /** Publishes the kept events in order; stops at the first Redis refuses (retried by the loop). */
  private async flush(): Promise<void> {
    while (this.unpublished.length > 0) {
      const next = this.unpublished[0] as string
      await this.clients.timed(this.channels.publish(this.channel, next), 'publish')
      if (this.unpublished[0] === next) this.unpublished.shift()
    }
  }

  subscribe(handler: AccessEventHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  onGap(handler: () => void): () => void {
    this.gapHandlers.add(handler)
    return () => this.gapHandlers.delete(handler)
  }

  async close(): Promise<void> {
    await this.republisher.stop()
    this.handlers.clear()
    this.gapHandlers.clear()
  }

  private receive(message: string): void {
    const read = decodeEnvelope(message, (version) => this.formats.reads('access', version))
    if (!read.ok) return this.formats.dropped('access', read.reason)
    const { node, version, event } = read.envelope
    if (node === this.nodeId) return
    if (version === 1) this.formats.heardUnversioned(node)
    this.deliver(event)
  }

  private deliver(event: AccessEvent): void {
    for (const handler of this.handlers) handler(event)
  }

  private gap(): void {
    for (const handler of this.gapHandlers) handler()
  }
}
