/**
 * A room that has just loaded on one node of a cluster does not know yet which client ids the
 * other nodes' users claimed in presence: it has asked them (awareness-relay.ts) and not heard
 * back. Until it has, it cannot tell a member's id from a free one, so whatever could take an id
 * waits instead of being judged on half the facts: writes wait (the intake waits as it waits for
 * the content gate) and presence messages are held here, socket by socket, and judged once heard.
 * Honest clients lose nothing but the wait: one round trip through Redis, bounded by the relay's
 * backstop, and none on a single node (heard as the room loads).
 */
import type { Connection } from '../wire/connection.ts'
import type { RawPresence } from '../wire/inbound.ts'

/** What one socket may have held before the room has heard (an honest client sends a state or two). */
const MAX_HELD_BYTES_PER_SOCKET = 256 * 1024
/** What an entry costs beyond its JSON (as presence budgets count it). */
const ENTRY_OVERHEAD = 8

interface Held {
  /** The newest entry per client id: only the newest could take effect anyway. */
  entries: Map<number, RawPresence>
  bytes: number
}

export class PresenceHearing {
  private heard = false
  private waiters: Array<() => void> = []
  private readonly held = new Map<Connection, Held>()

  get isHeard(): boolean {
    return this.heard
  }

  /** Resolves once the room has heard the other nodes' presence (at once if it has). */
  ready(): Promise<void> {
    if (this.heard) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Holds a socket's presence entries until heard; false when the socket has sent more than may be held. */
  hold(conn: Connection, entries: readonly RawPresence[]): boolean {
    const held = this.held.get(conn) ?? { entries: new Map<number, RawPresence>(), bytes: 0 }
    this.held.set(conn, held)
    for (const entry of entries) {
      const seen = held.entries.get(entry.clientId)
      if (seen && seen.clock > entry.clock) continue
      held.bytes += seen ? entry.json.length - seen.json.length : entry.json.length + ENTRY_OVERHEAD
      // A copy: the entry's bytes are a view of the whole frame, which must not stay in memory.
      held.entries.set(entry.clientId, { clientId: entry.clientId, clock: entry.clock, json: entry.json.slice() })
    }
    return held.bytes <= MAX_HELD_BYTES_PER_SOCKET
  }

  /** A socket left: what it sent is no one's to judge any more. */
  forget(conn: Connection): void {
    this.held.delete(conn)
  }

  /** Heard: wakes what waits and hands back the held presence, socket by socket in order of arrival. */
  settle(): Array<{ conn: Connection; entries: RawPresence[] }> {
    if (this.heard) return []
    this.heard = true
    const held = [...this.held].map(([conn, { entries }]) => ({ conn, entries: [...entries.values()] }))
    this.held.clear()
    for (const resolve of this.waiters.splice(0)) resolve()
    return held
  }
}
