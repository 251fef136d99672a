/**
 * At most one compaction of a room at a time. On one node an in-process set is enough; with
 * Redis the lease is a key with an expiry, so a dead writer's lease lapses (see log/redis-lease.ts).
 */
export interface CompactionLease {
  /** Runs `task` holding the room's lease; resolves undefined without running if another holds it. */
  withLease<T>(room: string, task: () => Promise<T>): Promise<T | undefined>
}

export class LocalLease implements CompactionLease {
  private readonly held = new Set<string>()

  async withLease<T>(room: string, task: () => Promise<T>): Promise<T | undefined> {
    if (this.held.has(room)) return undefined
    this.held.add(room)
    try {
      return await task()
    } finally {
      this.held.delete(room)
    }
  }
}
