/**
 * Updates a room holds because they need content it does not have yet: a struct they build on,
 * or, for content under another user's client id, the log read up to where that content would
 * be (a stock client passes on what it got through another node that this one has not read).
 * Bounded per socket and per user (the user's sockets together), and never kept forever: what
 * still waits after `maxAgeMs` is given up on and its socket closed.
 */
import type { LogId } from '../../log/log-id.ts'
import type { Connection } from '../wire/connection.ts'
import type { StructId } from '../wire/update-validator.ts'

export interface HeldUpdate {
  update: Uint8Array
  /** The struct it waits for. */
  missing: StructId
  heldAt: number
  /**
   * It writes or deletes under another user's client id content this node has not read: judged
   * again once the log is read up to `until` (the log's head when it arrived; null: not known yet).
   */
  foreign?: { until: LogId | null; waitFor: 'content' | 'log' }
  /** It came in a sync step 2 (the client passing on all it has), not as the client's own edit. */
  resend: boolean
}

export interface HeldLimits {
  perSocket: { updates: number; bytes: number }
  perUser: { updates: number; bytes: number }
  maxAgeMs: number
}

export class HeldUpdates {
  private readonly users = new Map<string, { updates: number; bytes: number }>()
  private total = 0
  private readonly limits: HeldLimits

  constructor(limits: HeldLimits) {
    this.limits = limits
  }

  /** Whether any socket holds anything (most of the time none does: nothing to look at). */
  get any(): boolean {
    return this.total > 0
  }

  /** Holds `held` for `conn`; false (nothing held) when the socket or its user would hold too much. */
  add(conn: Connection, held: HeldUpdate): boolean {
    const user = this.userOf(conn)
    const bytes = held.update.length
    const { perSocket, perUser } = this.limits
    if (conn.held.length >= perSocket.updates || conn.heldBytes + bytes > perSocket.bytes) return false
    if (user.updates >= perUser.updates || user.bytes + bytes > perUser.bytes) return false
    conn.held.push(held)
    conn.heldBytes += bytes
    user.updates++
    user.bytes += bytes
    this.total++
    return true
  }

  /** Removes and returns the socket's held updates that `ready` picks, in order. */
  take(conn: Connection, ready: (held: HeldUpdate) => boolean): HeldUpdate[] {
    const taken = conn.held.filter(ready)
    if (taken.length > 0) this.remove(conn, taken)
    return taken
  }

  /** The socket left, or may no longer write: what it held was never accepted. */
  drop(conn: Connection): void {
    this.remove(conn, [...conn.held])
  }

  /** Held updates older than the limit, per socket, taken out. */
  expired(conns: Iterable<Connection>, now: number): Array<{ conn: Connection; held: HeldUpdate[] }> {
    const stale: Array<{ conn: Connection; held: HeldUpdate[] }> = []
    for (const conn of conns) {
      const old = this.take(conn, (held) => now - held.heldAt >= this.limits.maxAgeMs)
      if (old.length > 0) stale.push({ conn, held: old })
    }
    return stale
  }

  private remove(conn: Connection, taken: HeldUpdate[]): void {
    if (taken.length === 0) return
    const user = this.userOf(conn)
    const bytes = taken.reduce((sum, held) => sum + held.update.length, 0)
    conn.held = conn.held.filter((held) => !taken.includes(held))
    conn.heldBytes -= bytes
    user.updates -= taken.length
    user.bytes -= bytes
    this.total -= taken.length
    if (user.updates === 0) this.users.delete(conn.principal.userId)
  }

  private userOf(conn: Connection): { updates: number; bytes: number } {
    let user = this.users.get(conn.principal.userId)
    if (!user) this.users.set(conn.principal.userId, user = { updates: 0, bytes: 0 })
    return user
  }
}
