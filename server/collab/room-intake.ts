/**
 * Where a room takes in updates, from sockets and from server-side edits: each is checked on its
 * bytes by the content gate (after the gate is built, and after the room has heard the other
 * nodes' presence: presence-hearing.ts), charged to the writer's per-minute budget,
 * held while content it depends on is missing, and queued for the log. The sender of a refused
 * update gets y-protocols' permission-denied and a named close code; nobody else sees anything.
 */
import { CloseCode } from '../../shared/close-codes.ts'
import { DocumentFullError } from '../log/types.ts'
import { DecodeError } from './bounded-reader.ts'
import type { Connection, HeldUpdate } from './connection.ts'
import type { Author, ContentGate } from './content/content-gate.ts'
import type { ReadyUpdate } from './content/update-analysis.ts'
import { isEmptyUpdateBytes } from './inbound.ts'
import { SERVER } from './origins.ts'
import { permissionDeniedFrame } from './outbound.ts'
import type { Room } from './room.ts'
import type { RoomWriter } from './room-writer.ts'

export class RoomIntake {
  private readonly queue: Array<{ conn: Connection; update: Uint8Array }> = []
  private waitingForGate = false
  private readonly room: Room
  private readonly writer: RoomWriter

  constructor(room: Room, writer: RoomWriter) {
    this.room = room
    this.writer = writer
  }

  /** An update from a socket (sync step 2 or update message), in the socket's order. */
  receive(conn: Connection, update: Uint8Array): void {
    if (isEmptyUpdateBytes(update)) return
    if (!conn.canWrite) return readOnly(conn)
    this.queue.push({ conn, update })
    this.drain()
  }

  /**
   * A server-side edit's update; resolves once it is logged. `trusted` edits (restore, rollback)
   * skip the document's rules, not the identity check.
   */
  serverWrite(author: Author, update: Uint8Array, trusted = false): Promise<void> {
    const gate = this.room.gates.current
    if (!gate) return Promise.reject(new Error('content index not ready'))
    const verdict = trusted ? gate.checkServerEdit(update, author) : gate.check(update, author)
    if (verdict.kind !== 'accept') return Promise.reject(new Error(`server edit refused: ${verdict.kind === 'refuse' ? verdict.reason : 'missing content'}`))
    // A member's edit through REST is bounded like a socket's; restore and rollback are not (an
    // owner bringing content back must not be stopped halfway).
    const bounded = !trusted && verdict.update.structs.length > 0
    const maxDocBytes = this.room.deps.limits.maxDocBytes
    if (bounded && this.wouldOverfill(update.length)) return Promise.reject(new DocumentFullError(this.room.bytes.bytes + this.writer.pendingBytes, maxDocBytes))
    return new Promise<void>((resolve, reject) => {
      const queued = this.enqueue(verdict.update, update, author, SERVER, (error) => (error === undefined ? resolve() : reject(error)), bounded)
      if (!queued) reject(new Error('update log unavailable'))
    })
  }

  /**
   * Content arrived: held updates whose missing struct is now known are tried again, in order,
   * until none is. The others are not read again: a member parking megabytes of updates that wait
   * for content nobody has must not make every honest stroke re-check them.
   */
  retryHeld(): void {
    const gate = this.room.gates.current
    if (!gate) return
    for (const conn of this.room.conns) {
      if (conn.held.length > 0 && conn.canWrite) this.retryHeldOf(conn, gate)
    }
  }

  private retryHeldOf(conn: Connection, gate: ContentGate): void {
    const arrived = (): HeldUpdate[] => conn.held.filter(({ missing }) => gate.index.unknownParts(missing.client, missing.clock, 1).length === 0)
    for (let ready = arrived(); ready.length > 0 && !conn.isClosed; ready = arrived()) {
      conn.held = conn.held.filter((held) => !ready.includes(held))
      conn.heldBytes -= ready.reduce((sum, held) => sum + held.update.length, 0)
      const stillHeld = conn.held.length
      for (const { update } of ready) this.admit(conn, update, gate, false)
      // Every one held again: nothing was taken, so nothing new can have arrived (never spin).
      if (conn.held.length - stillHeld === ready.length) return
    }
  }

  private drain(): void {
    const gate = this.room.gates.current
    // Until the other nodes' presence is heard, a write could take an id a member claimed there.
    if (!gate || !this.room.awareness.hearing.isHeard) return this.waitForGate()
    while (this.queue.length > 0) {
      const { conn, update } = this.queue.shift()!
      if (!conn.isClosed) this.admit(conn, update, gate)
    }
  }

  private waitForGate(): void {
    if (this.waitingForGate) return
    this.waitingForGate = true
    void Promise.all([this.room.gates.ready(), this.room.awareness.hearing.ready()]).then(() => {
      this.waitingForGate = false
      if (!this.room.isClosed) this.drain()
    })
  }

  /** Checks one update from a socket and logs, holds or refuses it. */
  private admit(conn: Connection, update: Uint8Array, gate: ContentGate, charge = true): void {
    if (!conn.canWrite) return readOnly(conn) // made a viewer while the update waited
    const author = { userId: conn.principal.userId, role: conn.role }
    if (charge && !this.room.budgets.spendWrite(author.userId, update.length)) return conn.close(CloseCode.writeQuotaExceeded, 'write quota for this document exceeded; reconnect later')
    let verdict
    try {
      verdict = gate.check(update, author)
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error
      this.room.deps.observer.frameRejected('invalidData')
      return conn.close(CloseCode.invalidData, error.message)
    }
    if (verdict.kind === 'refuse') return this.refuse(conn, verdict.reason)
    if (verdict.kind === 'pending') return this.hold(conn, { update, missing: verdict.missing })
    if (!isEffective(verdict.update, gate)) return // nothing the document lacks: not logged, not relayed
    const fresh = newClientIds(verdict.update, gate)
    if (fresh > 0 && !this.room.budgets.spendClientIds(author.userId, fresh)) return this.refuse(conn, 'too many new client ids')
    if (verdict.update.structs.length > 0 && this.wouldOverfill(update.length)) {
      conn.send(permissionDeniedFrame('document is full'))
      return conn.close(CloseCode.documentTooLarge, 'the document has reached its size limit')
    }
    if (!this.enqueue(verdict.update, update, author, conn)) conn.needsResync = true // the client keeps it and resends
  }

  /** Counts what is on its way to the log too: a burst must not pass the limit before any lands. */
  private wouldOverfill(bytes: number): boolean {
    return this.room.bytes.bytes + this.writer.pendingBytes + bytes > this.room.deps.limits.maxDocBytes
  }

  /** Members' writes that add content are `bounded`: the log, too, refuses them past MAX_DOC_BYTES. */
  private enqueue(ready: ReadyUpdate, update: Uint8Array, author: Author, origin: Connection | typeof SERVER, settle?: (error?: unknown) => void, bounded = origin !== SERVER && ready.structs.length > 0): boolean {
    if (!this.writer.accepts(update.length)) return false
    this.room.gates.current!.accept(ready, author)
    return this.writer.enqueue({ update, info: ready.info, writer: author.userId, origin, bounded, ...(settle && { settle }) })
  }

  private refuse(conn: Connection, reason: string): void {
    this.room.deps.observer.frameRejected('updateRefused')
    this.room.deps.logger.info({ room: this.room.name, user: conn.principal.userId, reason }, 'refused an update')
    conn.send(permissionDeniedFrame(reason))
    conn.close(CloseCode.updateRefused, reason)
  }

  private hold(conn: Connection, held: HeldUpdate): void {
    const { maxHeldUpdates, maxHeldBytes } = conn.limits
    if (conn.held.length >= maxHeldUpdates || conn.heldBytes + held.update.length > maxHeldBytes) {
      return conn.close(CloseCode.policyViolation, 'too many updates waiting for content nobody has sent')
    }
    conn.held.push(held)
    conn.heldBytes += held.update.length
  }
}

function readOnly(conn: Connection): void {
  conn.send(permissionDeniedFrame('read-only: viewers cannot edit this document'))
}

/** Client ids the update writes under that the document has never bound. */
function newClientIds(update: ReadyUpdate, gate: ContentGate): number {
  const fresh = new Set<number>()
  for (const struct of update.structs) if (!gate.index.bindings.has(struct.client)) fresh.add(struct.client)
  return fresh.size
}

/** New structs, or deletions of something not deleted yet. */
function isEffective(update: ReadyUpdate, gate: ContentGate): boolean {
  return update.structs.length > 0 || update.deletes.some((d) => gate.index.undeleted(d.client, d.clock, d.length).length > 0)
}
