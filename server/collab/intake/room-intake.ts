/**
 * Where a room takes in updates, from sockets and from server-side edits: each is checked on its
 * bytes by the content gate (after the gate is built, and after the room has heard the other
 * nodes' presence: presence-hearing.ts), charged to the writer's per-minute budget, held while
 * content it depends on is missing (held-updates.ts), cut to what the document lacks
 * (sync/effective-update.ts: a re-send costs the document nothing) and queued for the log. The
 * sender of a refused update gets y-protocols' permission-denied and a named close code; nobody
 * else sees anything.
 */
import { CloseCode } from '../../../shared/close-codes.ts'
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import { DocumentFullError } from '../../log/types.ts'
import type { Logger } from '../../logger.ts'
import type { Author, ContentGate, Verdict } from '../content/content-gate.ts'
import type { ReadyUpdate } from '../content/update-analysis.ts'
import type { CollabObserver } from '../observer.ts'
import type { RoomBudgets } from '../room/room-budgets.ts'
import type { RoomWriter } from '../room/room-writer.ts'
import { SERVER } from '../room/origins.ts'
import { effectivePart, type Effective } from '../sync/effective-update.ts'
import { DecodeError } from '../wire/bounded-reader.ts'
import type { Connection } from '../wire/connection.ts'
import { isEmptyUpdateBytes } from '../wire/inbound.ts'
import { permissionDeniedFrame } from '../wire/outbound.ts'
import type { GateKeeper } from './room-gate.ts'
import { HeldUpdates, type HeldLimits, type HeldUpdate } from './held-updates.ts'
import { deletionsApart, foreignApart, readyApart } from './update-parts.ts'

/** A server-side edit the content rules refuse (an editor's restore deleting others' messages). */
export class EditRefusedError extends Error {
  override name = 'EditRefusedError'
}

/** The log cannot take writes now. */
export class LogUnavailableError extends Error {
  override name = 'LogUnavailableError'
}

/** The member posted more chat messages than her post budget holds (CHAT_MESSAGE_BURST). */
export class PostBudgetError extends Error {
  override name = 'PostBudgetError'
}

export interface IntakeDeps {
  room: string
  gates: GateKeeper
  /** Whether the room has heard the other nodes' presence (writes wait until it has). */
  hearing: { readonly isHeard: boolean; ready(): Promise<void> }
  budgets: RoomBudgets
  writer: RoomWriter
  /** Bytes the document holds (the size MAX_DOC_BYTES bounds). */
  heldBytes(): number
  maxDocBytes: number
  held: HeldLimits
  /** Every entry up to here is in the document. */
  position(): LogId
  /** The log's newest entry for the room. */
  logHead(): Promise<LogId>
  /** The log lost its entries since this process started (a Redis restarted empty). */
  logLost(): boolean
  sockets(): Iterable<Connection>
  isClosed(): boolean
  observer: CollabObserver
  logger: Logger
}

/** How an update is taken: charged to the budget (first time), its foreign part judged now, a resend. */
interface Admission {
  charge: boolean
  judgeForeign: boolean
  resend: boolean
}

/** How often held updates are looked at for their age. */
const EXPIRY_SWEEP_MS = 1_000

export class RoomIntake {
  private readonly queue: Array<{ conn: Connection; update: Uint8Array; resend: boolean }> = []
  private waitingForGate = false
  private readonly held: HeldUpdates
  private expiryTimer: NodeJS.Timeout | undefined
  private readonly deps: IntakeDeps

  constructor(deps: IntakeDeps) {
    this.deps = deps
    this.held = new HeldUpdates(deps.held)
  }

  /**
   * An update from a socket, in the socket's order: `resend` for a sync step 2 (all the client has
   * that the server's state vector lacks, which may include others' content), else its own edit.
   */
  receive(conn: Connection, update: Uint8Array, resend: boolean): void {
    if (isEmptyUpdateBytes(update)) return
    if (!conn.canWrite) return readOnly(conn)
    this.queue.push({ conn, update, resend })
    this.drain()
  }

  /**
   * A server-side edit's update; resolves once it is logged (or at once when the document has
   * all of it already). `trusted` edits (restore, rollback) skip the rules for what they add.
   */
  serverWrite(author: Author, update: Uint8Array, trusted = false): Promise<void> {
    const gate = this.deps.gates.current
    if (!gate) return Promise.reject(new Error('content index not ready'))
    const verdict = trusted ? gate.checkServerEdit(update, author) : gate.check(update, author)
    if (verdict.kind !== 'accept') return Promise.reject(new EditRefusedError('reason' in verdict ? verdict.reason : 'it builds on content the document does not have'))
    const effective = effectivePart(update, verdict.update.info, gate.knowledge)
    if (!effective) return Promise.resolve()
    // A member's edit through REST is bounded like a socket's; restore and rollback are not (an
    // owner bringing content back must not be stopped halfway).
    const bounded = !trusted && verdict.update.structs.length > 0
    if (bounded && this.wouldOverfill(effective.update.length)) return Promise.reject(new DocumentFullError(this.deps.heldBytes() + this.deps.writer.pendingBytes, this.deps.maxDocBytes))
    // A member's posts through REST pay the same budget as through a socket.
    if (verdict.posts > 0 && !this.deps.budgets.spendPosts(author.userId, verdict.posts)) return Promise.reject(new PostBudgetError('too many chat messages; wait a little'))
    return new Promise<void>((resolve, reject) => {
      const queued = this.enqueue(gate, verdict.update, effective, author, SERVER, (error) => (error === undefined ? resolve() : reject(error)), bounded)
      if (!queued) {
        this.deps.budgets.refundPosts(author.userId, verdict.posts)
        reject(new LogUnavailableError('update log unavailable'))
      }
    })
  }

  /**
   * Content arrived, or the position moved: held updates whose missing struct is now known, or
   * whose foreign content had its chance to arrive, are tried again, in order, until none is. The
   * others are not read again: a member parking megabytes of updates that wait for content
   * nobody has must not make every honest stroke re-check them.
   */
  retryHeld(): void {
    const gate = this.deps.gates.current
    if (!gate || !this.held.any) return
    for (const conn of this.deps.sockets()) {
      if (conn.held.length > 0 && conn.canWrite) this.retryHeldOf(conn, gate)
    }
  }

  /**
   * A held update is looked at again once what it waits for arrived; one carrying foreign content
   * also once this node has read the log as far as it reached when the update came, except a
   * resend waiting for content, which waits for it (or its expiry).
   */
  private isReady(held: HeldUpdate, arrived: boolean): boolean {
    if (arrived) return true
    if (!held.foreign || (held.resend && held.foreign.waitFor === 'content')) return false
    return this.caughtUp(held.foreign.until)
  }

  /**
   * The log lost its entries: held updates waiting for this node to read as far as the log then
   * reached will never see those entries (nor, once read, could they tell anything): they are
   * judged against what the room holds now.
   */
  logLost(): void {
    const position = this.deps.position()
    for (const conn of this.deps.sockets()) for (const held of conn.held) if (held.foreign?.waitFor === 'log') held.foreign.until = position
    this.retryHeld()
  }

  /** The socket left or may no longer write: what it held was never accepted. */
  forget(conn: Connection): void {
    this.held.drop(conn)
  }

  close(): void {
    clearTimeout(this.expiryTimer)
  }

  private retryHeldOf(conn: Connection, gate: ContentGate): void {
    const arrived = (held: HeldUpdate): boolean => held.foreign?.waitFor !== 'log' && gate.index.unknownParts(held.missing.client, held.missing.clock, 1).length === 0
    for (let taken = this.held.take(conn, (held) => this.isReady(held, arrived(held))); taken.length > 0 && !conn.isClosed; taken = this.held.take(conn, (held) => this.isReady(held, arrived(held)))) {
      const stillHeld = conn.held.length
      for (const held of taken) this.admit(conn, held.update, gate, { charge: false, judgeForeign: held.foreign !== undefined && !arrived(held), resend: held.resend })
      // Every one held again: nothing was taken, so nothing new can have arrived (never spin).
      if (conn.held.length - stillHeld === taken.length) return
    }
  }

  private drain(): void {
    const gate = this.deps.gates.current
    // Until the other nodes' presence is heard, a write could take an id a member claimed there.
    if (!gate || !this.deps.hearing.isHeard) return this.waitForGate()
    while (this.queue.length > 0) {
      const { conn, update, resend } = this.queue.shift()!
      if (!conn.isClosed) this.admit(conn, update, gate, { charge: true, judgeForeign: false, resend })
    }
  }

  private waitForGate(): void {
    if (this.waitingForGate) return
    this.waitingForGate = true
    void Promise.all([this.deps.gates.ready(), this.deps.hearing.ready()]).then(() => {
      this.waitingForGate = false
      if (!this.deps.isClosed()) this.drain()
    })
  }

  /**
   * Checks one update from a socket and logs, holds or refuses it. `judgeForeign`: its foreign
   * content had its chance to arrive (the log was read far enough), so what is still foreign is
   * not taken: an edit of the socket's own is refused (and the socket closed), a resend is
   * answered with permission-denied and dropped (an honest client passes on others' content the
   * server lost; it keeps its socket and the content comes back with its author).
   */
  private admit(conn: Connection, update: Uint8Array, gate: ContentGate, how: Admission): void {
    if (!conn.canWrite) return readOnly(conn) // made a viewer while the update waited
    const author = { userId: conn.principal.userId, role: conn.role }
    if (how.charge && !this.deps.budgets.spendWrite(author.userId, update.length)) return conn.close(CloseCode.writeQuotaExceeded, 'write quota for this document exceeded; reconnect later')
    // The log cannot take it now (down, or its queue full): not judged, not held; the client keeps
    // it and everything after it, and resends all at once when asked (the log is back or drained).
    if (!this.deps.writer.accepts(update.length)) {
      conn.needsResync = true
      return
    }
    let verdict
    try {
      verdict = gate.check(update, author, how.judgeForeign, how.resend)
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error
      this.deps.observer.frameRejected('invalidData')
      return conn.close(CloseCode.invalidData, error.message)
    }
    // A resend held as foreign carries what its client got elsewhere: declined, never closed for.
    if (verdict.kind === 'refuse') return how.resend && how.judgeForeign ? this.decline(conn, verdict.reason) : this.refuse(conn, verdict.reason)
    if (verdict.kind === 'foreign') {
      if (how.resend && this.admitApart(conn, update, verdict, gate, how)) return
      if (!how.judgeForeign) return this.holdForeign(conn, { update, missing: verdict.missing, resend: how.resend }, verdict.waitFor)
      // After the log lost entries an honest edit may build on (or erase) content that went with them.
      return how.resend || this.deps.logLost() ? this.decline(conn, verdict.reason) : this.refuse(conn, verdict.reason)
    }
    if (verdict.kind === 'pending') {
      if (this.admitReadyPart(conn, update, verdict, gate, how)) return
      return this.hold(conn, { update, missing: verdict.missing, heldAt: Date.now(), resend: how.resend })
    }
    const effective = effectivePart(update, verdict.update.info, gate.knowledge)
    if (!effective) return // nothing the document lacks: not logged, not counted, not relayed
    const fresh = newClientIds(verdict.update, gate)
    if (fresh > 0 && !this.deps.budgets.spendClientIds(author.userId, fresh)) return this.refuse(conn, 'too many new client ids')
    if (verdict.update.structs.length > 0 && this.wouldOverfill(effective.update.length)) {
      conn.send(permissionDeniedFrame('document is full'))
      return conn.close(CloseCode.documentTooLarge, 'the document has reached its size limit')
    }
    // Paid when taken (a held update is taken once, when it is), and given back if it is not.
    if (verdict.posts > 0 && !this.deps.budgets.spendPosts(author.userId, verdict.posts)) return conn.close(CloseCode.writeQuotaExceeded, 'too many chat messages at once; reconnect later')
    if (!this.enqueue(gate, verdict.update, effective, author, conn)) {
      this.deps.budgets.refundPosts(author.userId, verdict.posts)
      conn.needsResync = true // the client keeps it and resends
    }
  }

  /**
   * A resend carries whatever the client has that the server lacks: the foreign part (another
   * user's structs, or deletions the rules leave to others) is held or judged on its own, and the
   * rest goes on without it (two members each passing on the other's lost content would otherwise
   * wait for each other). False when nothing can be set apart.
   */
  private admitApart(conn: Connection, update: Uint8Array, verdict: Extract<Verdict, { kind: 'foreign' }>, gate: ContentGate, how: Admission): boolean {
    const [foreign, rest] = foreignApart(update, verdict)
    if (!foreign || !rest) return false
    this.admit(conn, rest, gate, { ...how, charge: false })
    if (!conn.isClosed) this.admit(conn, foreign, gate, { ...how, charge: false })
    return true
  }

  /**
   * Of an update that builds on content nobody sent yet, what does not is taken now and the rest
   * waits for it (as Yjs integrates what it can and keeps the rest pending): two members each
   * resending what builds on the other's lost content would otherwise wait for each other
   * forever. A deletion of content nobody sent yet waits alone (as Yjs keeps a pending delete
   * set): one member's resend deleting what the other's builds on would wait for it just the
   * same. False when all of it waits.
   */
  private admitReadyPart(conn: Connection, update: Uint8Array, verdict: Extract<Verdict, { kind: 'pending' }>, gate: ContentGate, how: Admission): boolean {
    const parts = verdict.deletion ? deletionsApart(update, (client, clock, length) => gate.index.unknownParts(client, clock, length)) : readyApart(update, verdict.blocked ?? [])
    if (!parts) return false
    this.admit(conn, parts.ready, gate, { ...how, charge: false })
    if (!conn.isClosed) this.admit(conn, parts.waiting, gate, { ...how, charge: false })
    return true
  }

  /** Counts what is on its way to the log too: a burst must not pass the limit before any lands. */
  private wouldOverfill(bytes: number): boolean {
    return this.deps.heldBytes() + this.deps.writer.pendingBytes + bytes > this.deps.maxDocBytes
  }

  /** Members' writes that add content are `bounded`: the log, too, refuses them past MAX_DOC_BYTES. */
  private enqueue(gate: ContentGate, ready: ReadyUpdate, effective: Effective, author: Author, origin: Connection | typeof SERVER, settle?: (error?: unknown) => void, bounded = origin !== SERVER && ready.structs.length > 0): boolean {
    if (!this.deps.writer.accepts(effective.update.length)) return false
    gate.accept(ready, author)
    return this.deps.writer.enqueue({ update: effective.update, info: effective.info, writer: author.userId, origin, bounded, ...(settle && { settle }) })
  }

  private refuse(conn: Connection, reason: string): void {
    this.deps.observer.frameRejected('updateRefused')
    this.deps.logger.info({ room: this.deps.room, user: conn.principal.userId, reason }, 'refused an update')
    conn.send(permissionDeniedFrame(reason))
    conn.close(CloseCode.updateRefused, reason)
  }

  /** Not taken, and said so; the socket stays (and, after a loss, is asked again once content arrives). */
  private decline(conn: Connection, reason: string): void {
    if (this.deps.logLost()) conn.resyncOnContent = true
    this.deps.observer.frameRejected('updateRefused')
    this.deps.logger.info({ room: this.deps.room, user: conn.principal.userId, reason }, 'declined content a resend carried')
    conn.send(permissionDeniedFrame(reason))
  }

  private hold(conn: Connection, held: HeldUpdate): void {
    if (!this.held.add(conn, held)) return conn.close(CloseCode.policyViolation, 'too many updates waiting for content nobody has sent')
    this.armExpiry()
  }

  /**
   * Held until the foreign content arrives, or, for an edit of the socket's own, until this node
   * has read the log as far as it reached when the update came: content another node logged by
   * then is known here from then on, and what is still foreign is refused. A resend waits for the
   * content until it expires (the log may have lost it, and its author may bring it back). A log
   * that cannot say how far it reached leaves an edit to the expiry too.
   */
  private holdForeign(conn: Connection, held: Pick<HeldUpdate, 'update' | 'missing' | 'resend'>, waitFor: 'content' | 'log'): void {
    const foreign: NonNullable<HeldUpdate['foreign']> = { until: null, waitFor }
    this.hold(conn, { ...held, heldAt: Date.now(), foreign })
    this.deps.logHead().then((head) => {
      foreign.until = head
      if (!this.deps.isClosed()) this.retryHeld()
    }, (error: unknown) => {
      this.deps.logger.warn({ err: error, room: this.deps.room }, 'could not read the log\'s head for a held update; it waits for its expiry')
    })
  }

  /**
   * Held too long: a resend is declined (the socket stays), anything else closes the socket, unless
   * the log lost entries (the content it waits for may have gone with them).
   */
  private expire(conn: Connection, held: HeldUpdate[]): void {
    if (held.every((h) => h.resend) || this.deps.logLost()) return this.decline(conn, 'carries content this server does not have and cannot take from this client')
    conn.close(CloseCode.policyViolation, 'updates waited too long for content nobody has sent')
  }

  private caughtUp(until: LogId | null): boolean {
    return until !== null && compareLogIds(this.deps.position(), until) >= 0
  }

  /** Held updates are looked at every second while there are any; those past their age close their socket. */
  private armExpiry(): void {
    if (this.expiryTimer) return
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined
      if (this.deps.isClosed()) return
      for (const { conn, held } of this.held.expired(this.deps.sockets(), Date.now())) this.expire(conn, held)
      if (this.held.any) this.armExpiry()
    }, EXPIRY_SWEEP_MS)
    this.expiryTimer.unref()
  }
}

function readOnly(conn: Connection): void {
  conn.send(permissionDeniedFrame('read-only: viewers cannot edit this document'))
}

/** Client ids the update writes under that the document holds nothing of (bound or not: collected ranges bind no id). */
function newClientIds(update: ReadyUpdate, gate: ContentGate): number {
  const fresh = new Set<number>()
  for (const { client } of update.structs) if (!gate.index.bindings.has(client) && gate.knowledge.knownUpTo(client) === 0) fresh.add(client)
  return fresh.size
}
