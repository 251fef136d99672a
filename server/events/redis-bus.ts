/**
 * Access events across nodes over Redis pub/sub. The publishing node handles its own event at
 * once; the others hear it through Redis. Pub/sub is lossy while a connection is down, so after
 * the subscriber reconnects every `onGap` handler runs (drop caches, re-check open sockets).
 */
import type { RedisClient, RedisClients } from '../cluster/redis-clients.ts'
import type { Logger } from '../logger.ts'
import type { AccessEvent, AccessEventHandler, EventBus } from './bus.ts'

interface Envelope {
  node: string
  event: AccessEvent
}

export class RedisBus implements EventBus {
  private readonly handlers = new Set<AccessEventHandler>()
  private readonly gapHandlers = new Set<() => void>()
  private readonly cmd: RedisClient
  private readonly sub: RedisClient
  private readonly channel: string
  private readonly nodeId: string
  private readonly logger: Logger

  private constructor(clients: RedisClients, options: { prefix: string; nodeId: string; logger: Logger }) {
    this.cmd = clients.cmd
    this.sub = clients.sub
    this.channel = `${options.prefix}events`
    this.nodeId = options.nodeId
    this.logger = options.logger
    clients.onReconnect(clients.sub, () => this.gap())
  }

  static async start(clients: RedisClients, options: { prefix: string; nodeId: string; logger: Logger }): Promise<RedisBus> {
    const bus = new RedisBus(clients, options)
    await bus.sub.subscribe(bus.channel, (message: string) => bus.receive(message))
    return bus
  }

  async publish(event: AccessEvent): Promise<void> {
    this.deliver(event)
    const envelope: Envelope = { node: this.nodeId, event }
    try {
      await this.cmd.publish(this.channel, JSON.stringify(envelope))
    } catch (error) {
      // Other nodes learn of it through their TTLs and their own reconnect re-checks.
      this.logger.warn({ err: error, event: event.type }, 'could not publish an access event to other nodes')
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
    this.handlers.clear()
    this.gapHandlers.clear()
  }

  private receive(message: string): void {
    let envelope: Envelope
    try {
      envelope = JSON.parse(message) as Envelope
    } catch {
      return
    }
    if (envelope.node !== this.nodeId) this.deliver(envelope.event)
  }

  private deliver(event: AccessEvent): void {
    for (const handler of this.handlers) handler(event)
  }

  private gap(): void {
    for (const handler of this.gapHandlers) handler()
  }
}
