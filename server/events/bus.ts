/**
 * Access events every node must hear: cache invalidation and closing or downgrading open sockets.
 * In-process on one node; over Redis pub/sub with REDIS_URL (events/redis-bus.ts).
 */
import type { Role } from '../collab/principal.ts'

export type AccessEvent =
  /** A member's effective role changed; null = no longer a member. */
  | { type: 'membership'; groupId: string; userId: string; role: Role | null }
  /** Group metadata (name, owner) changed. */
  | { type: 'group-changed'; groupId: string }
  | { type: 'group-deleted'; groupId: string }

export type AccessEventHandler = (event: AccessEvent) => void

export interface EventBus {
  publish(event: AccessEvent): Promise<void>
  subscribe(handler: AccessEventHandler): () => void
  /** Called when deliveries may have been missed (e.g. after a Redis reconnect). */
  onGap(handler: () => void): () => void
  close(): Promise<void>
}

export class LocalBus implements EventBus {
  private readonly handlers = new Set<AccessEventHandler>()

  async publish(event: AccessEvent): Promise<void> {
    for (const handler of this.handlers) handler(event)
  }

  subscribe(handler: AccessEventHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  onGap(): () => void {
    return () => {}
  }

  async close(): Promise<void> {
    this.handlers.clear()
  }
}
