/**
 * A hot room: the document as bytes (DocBytes), its presence, its sockets. No Y.Doc on the hot
 * path: an update from a socket is checked on its bytes (content gate), logged (RoomWriter, one
 * log entry per batch), and only then kept and relayed, framed once. Other nodes' entries arrive
 * through the log subscription (room-follower.ts), which is where `watermark` moves: every log
 * entry ≤ watermark is in `bytes`. A Y.Doc exists only in the doc worker, on demand (DocView).
 */
import { CloseCode } from '../../shared/close-codes.ts'
import type { RoomKind } from '../../shared/rooms.ts'
import { compareLogIds, type LogId } from '../log/log-id.ts'
import type { DocumentFullError, LogEntry, UpdateLog } from '../log/types.ts'
import type { Logger } from '../logger.ts'
import type { Connection } from './connection.ts'
import type { Author } from './content/content-gate.ts'
import type { RuleOptions } from './content/document-rules.ts'
import { DocBytes, type Accepted } from './doc-bytes.ts'
import { DocView, type DocViewOptions } from './doc-view.ts'
import type { DocWorker } from './doc-worker-client.ts'
import type { Inbound } from './inbound.ts'
import type { CollabObserver } from './observer.ts'
import { SERVER } from './origins.ts'
import { permissionDeniedFrame, syncStep1Frame, updateFrame } from './outbound.ts'
import type { Role } from './principal.ts'
import { RoomAwareness } from './room-awareness.ts'
import { RoomBudgets, type UserRates } from './room-budgets.ts'
import { RoomFollower } from './room-follower.ts'
import { GateKeeper, type GateSource } from './room-gate.ts'
import type { LoadedRoom } from './room-loader.ts'
import { RoomIntake } from './room-intake.ts'
import { RoomWriter, type PendingWrite } from './room-writer.ts'
import { planSync } from './sync-answer.ts'
import { deletionUpdate } from './update-info.ts'
import type { Duplicate } from './content/rules.ts'
import type { ViewAnswer, ViewOp } from './view-ops.ts'

export interface RoomLimits {
  maxQueuedBytes: number
  maxDocBytes: number
  /** What one user may spend here across her sockets (writes, presence, sync answers). */
  perUser: UserRates
  /** Documents up to this size get their content index built on the main thread. */
  indexInlineBytes: number
  view: DocViewOptions
  presence: { maxIdsPerSocket: number; outdatedMs: number }
}

export interface RoomDeps {
  kind: RoomKind
  log: UpdateLog
  logger: Logger
  observer: CollabObserver
  worker: DocWorker
  rules: RuleOptions
  limits: RoomLimits
  /** Updates were kept (for compaction scheduling). */
  onApplied(room: Room): void
  /** Presence changed here; other nodes should hear it (no-op on a single node). */
  publishAwareness(room: string, update: Uint8Array): void
  /** Snapshot + log, as a fresh load would see them (after a log gap). */
  reload(room: string): Promise<LoadedRoom>
}

/** Server-side edits a room runs on behalf of a user. */
export type EditKind = 'post' | 'restore' | 'rollback'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export class LogUnavailableError extends Error {
  override name = 'LogUnavailableError'
}

export class Room {
  readonly name: string
  readonly kind: RoomKind
  readonly bytes: DocBytes
  readonly conns = new Set<Connection>()
  readonly view: DocView
  readonly gates: GateKeeper
  /** Sockets plus server-side users currently holding the room in memory. */
  holders = 0
  /** Updates kept since the last snapshot (compaction's trigger). */
  entriesSinceSnapshot: number
  lastAppliedAt = Date.now()
  lastSnapshotAt = Date.now()
  evictTimer: NodeJS.Timeout | undefined
  /** Its group was deleted: leave memory without a final snapshot. */
  discarded = false
  private closed = false
  /** Presence traffic, and whether the other nodes' claims are known here yet (writes wait). */
  readonly awareness: RoomAwareness
  private readonly writer: RoomWriter
  private readonly intake: RoomIntake
  private readonly follower: RoomFollower
  readonly budgets: RoomBudgets
  private readonly serverClients = new Map<string, number>()
  private svgCache: { version: number; maxBytes: number; svg: string | null } | null = null
  /** A relog after a log reset is still owed. */
  private relogPending = false
  readonly deps: RoomDeps

  constructor(name: string, loaded: LoadedRoom, deps: RoomDeps) {
    this.name = name
    this.kind = deps.kind
    this.deps = deps
    this.bytes = new DocBytes(loaded.base)
    for (const accepted of loaded.since) this.bytes.add(accepted)
    this.entriesSinceSnapshot = loaded.since.length
    this.budgets = new RoomBudgets(deps.limits.perUser)
    this.writer = new RoomWriter(name, deps.log, { committed: this.committed, failed: this.failed, full: this.full }, deps.limits.maxQueuedBytes, () => ({
      maxDocBytes: deps.limits.maxDocBytes,
      base: { watermark: this.bytes.baseWatermark, bytes: this.bytes.baseBytes },
    }))
    this.awareness = new RoomAwareness({
      room: name,
      limits: deps.limits.presence,
      budgets: this.budgets,
      boundTo: (client) => this.gates.current?.index.bindings.get(client) ?? this.bytes.writerOf(client),
      broadcast: (frame, except) => this.broadcast(frame, except),
      publish: (update) => deps.publishAwareness(name, update),
      logger: deps.logger,
      observer: deps.observer,
    })
    this.gates = new GateKeeper({
      kind: deps.kind,
      room: name,
      worker: deps.worker,
      rules: deps.rules,
      options: { claimedBy: (client) => this.awareness.claimedBy(client) },
      source: () => this.gateSource(),
      inlineBytes: deps.limits.indexInlineBytes,
      removeDuplicates: (duplicates) => this.removeDuplicates(duplicates),
      logger: deps.logger,
    })
    this.intake = new RoomIntake(this, this.writer)
    this.view = new DocView(name, deps.worker, () => this.allUpdates(), deps.limits.view)
    this.follower = new RoomFollower(this, loaded.watermark)
  }

  /** Position of the log subscription: every entry ≤ it is in `bytes`. */
  get watermark(): LogId {
    return this.follower.position
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Starts following the log and building the content index. */
  start(): void {
    this.gates.build()
    this.follower.start()
    this.awareness.start()
  }

  join(conn: Connection): void {
    this.conns.add(conn)
    conn.send(syncStep1Frame(this.bytes.stateVector()))
    this.awareness.greet(conn)
  }

  leave(conn: Connection): void {
    if (!this.conns.delete(conn)) return
    conn.held = []
    this.awareness.leave(conn)
  }

  /** Handles one decoded message; throws ProtocolError for messages the socket may not send. */
  handle(conn: Connection, message: Inbound): void {
    switch (message.kind) {
      case 'sync-step1': void this.answer(conn, message.stateVector); return
      case 'sync-step2':
      case 'update': this.intake.receive(conn, message.update); return
      case 'awareness': this.awareness.receive(conn, message.entries); return
      case 'query-awareness': this.awareness.answerQuery(conn); return
      case 'auth': return
    }
  }

  /** Reads through the room's materialized document (in the doc worker). */
  async read<K extends 'messages' | 'message' | 'strokes'>(op: Extract<ViewOp, { kind: K }>): Promise<ViewAnswer<K>['result']> {
    return (await this.view.run(op)).result
  }

  /** The canvas as SVG, cached per version of the document; null when larger than `maxBytes`. */
  async svg(maxBytes: number): Promise<string | null> {
    const version = this.bytes.version
    const cached = this.svgCache
    if (cached && cached.version === version && cached.maxBytes === maxBytes) return cached.svg
    const { result } = await this.view.run({ kind: 'svg', maxBytes })
    this.svgCache = { version, maxBytes, svg: result }
    return result
  }

  /**
   * A server-side edit on behalf of `author` (e.g. a chat message posted over REST): made in the
   * room's materialized document under a client id bound to the author, checked like any update,
   * and resolved once it is in the log. Refused up front when the log is down.
   */
  async edit<K extends EditKind>(author: Author, op: DistributiveOmit<Extract<ViewOp, { kind: K }>, 'clientId'>): Promise<ViewAnswer<K>['result']> {
    if (!this.deps.log.isUp()) throw new LogUnavailableError('update log unavailable')
    await this.gates.ready()
    const trusted = op.kind !== 'post' // restoring and rolling back bring back others' content
    const withClient = { ...op, clientId: this.serverClientFor(author.userId) } as unknown as Extract<ViewOp, { kind: K }>
    const answer = await this.view.run(withClient, (made) => (made.update ? this.intake.serverWrite(author, made.update, trusted) : Promise.resolve()))
    return answer.result
  }

  /** The live document, diffed against a kept version's state. */
  async diffFrom(state: Uint8Array): Promise<ViewAnswer<'diff-from'>['result']> {
    return (await this.view.run({ kind: 'diff-from', state })).result
  }

  /** Closes every socket in the room. */
  closeAll(code: number, reason: string): void {
    for (const conn of this.conns) conn.close(code, reason)
  }

  /** Changes a member's role on every socket they hold here; null closes those sockets. */
  applyRole(userId: string, role: Role | null): void {
    for (const conn of this.conns) {
      if (conn.principal.userId !== userId) continue
      if (role === null) conn.close(CloseCode.forbidden, 'membership revoked')
      else conn.setRole(role)
    }
  }

  /** Whether a client id has a present state here (for probes and tests). */
  hasPresence(clientId: number): boolean {
    return this.awareness.has(clientId)
  }

  /** The other nodes' presence is known here now: held presence is judged, waiting writes go on. */
  presenceHeard(): void {
    this.awareness.heard((conn) => this.conns.has(conn))
  }

  /** The log is reachable again: ask sockets whose writes were refused to resync. */
  onLogUp(): void {
    if (this.relogPending) void this.relog()
    this.resyncRefused()
  }

  /**
   * The log lost what it held (a Redis without persistence restarted): write again everything
   * this room kept beyond its snapshot, so the log (and every other node) has it again.
   */
  async relog(): Promise<void> {
    this.relogPending = false
    for (const { writer, update, info } of [...this.bytes.contents().since]) {
      if (!this.deps.log.isUp() || this.closed) {
        this.relogPending = true // again when the log is up
        return
      }
      while (!this.writer.accepts(update.length)) await this.writer.drain() // a full queue drains first
      this.writer.enqueue({ update, info, writer, origin: SERVER, relog: true })
    }
  }

  /** Writes queued for the log or being logged. */
  get writesInFlight(): number {
    return this.writer.inFlight().length
  }

  /** Resolves once every queued write has been logged (or has failed). */
  drain(): Promise<void> {
    return this.writer.drain()
  }

  async close(): Promise<void> {
    await this.writer.drain()
    this.closed = true
    this.awareness.stop()
    this.follower.stop()
    this.gates.close()
    this.view.close()
  }

  // --- used by the intake and the follower ------------------------------------------------------

  /** Keeps updates that are in the log, relays them, feeds the view. */
  keep(accepted: Accepted[], except: Connection | null): void {
    for (const update of accepted) {
      this.bytes.add(update)
      this.view.feed(update.update)
      this.broadcast(updateFrame(update.update), except)
    }
    this.entriesSinceSnapshot += accepted.length
    this.lastAppliedAt = Date.now()
    this.deps.onApplied(this)
  }

  /** Encoded once, sent to every socket but `except`. */
  broadcast(frame: Uint8Array, except: Connection | null): void {
    let sent = 0
    for (const conn of this.conns) {
      if (conn === except) continue
      conn.send(frame)
      sent++
    }
    if (sent > 0) this.deps.observer.framesOut(sent, frame.length)
  }

  /** A compaction stored a snapshot: rebuild the content index if the base holds what it never saw. */
  rebased(): void {
    this.svgCache = null
  }

  resyncRefused(): void {
    for (const conn of this.conns) {
      if (!conn.needsResync) continue
      conn.needsResync = false
      conn.send(syncStep1Frame(this.bytes.stateVector()))
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private async answer(conn: Connection, stateVector: Uint8Array): Promise<void> {
    if (conn.isClosed) return // an earlier message in the same read closed it
    const first = conn.syncs++ === 0
    const planned = planSync(this.bytes, stateVector, this.deps.worker)
    if (!this.budgets.paySync(conn, planned.cost, first)) {
      conn.close(CloseCode.rateLimited, 'sync budget spent: too many or too costly sync requests')
      return
    }
    try {
      conn.sendAll(await planned.answer())
    } catch (error) {
      this.deps.logger.error({ err: error, room: this.name }, 'answering a sync failed')
      conn.close(CloseCode.tryAgainLater, 'sync failed, try again later')
    }
  }

  /**
   * Deletes duplicates on behalf of their writers (two nodes took one message id at once). If the
   * log is down the duplicate stays until the index is next built, which finds it again.
   */
  private removeDuplicates(duplicates: Duplicate[]): void {
    for (const writer of new Set(duplicates.map((d) => d.writer))) {
      const ranges = duplicates.filter((d) => d.writer === writer)
      this.intake.serverWrite({ userId: writer, role: 'editor' }, deletionUpdate(ranges), true).catch((error: unknown) => {
        this.deps.logger.warn({ err: error, room: this.name, duplicates: ranges.length }, 'could not delete duplicates; they go at the next index build')
      })
    }
  }

  /** A client id no one has used in this document, for the author's server-side edits here. */
  private serverClientFor(userId: string): number {
    let client = this.serverClients.get(userId)
    while (client === undefined || (this.gates.current?.index.bindings.get(client) ?? userId) !== userId) {
      client = (Math.random() * 0xffffffff) >>> 0
      if (this.bytes.vectorMap.has(client) || this.gates.current?.index.bindings.has(client)) client = undefined
    }
    this.serverClients.set(userId, client)
    return client
  }

  private gateSource(): GateSource {
    const { pieces, since } = this.bytes.contents()
    const inFlight = this.writer.inFlight().map(({ writer, update }) => ({ writer, update })) // no log id yet
    return { pieces, bindings: this.bytes.bindings, updates: [...since.map(({ id, writer, update }) => ({ writer, update, at: id })), ...inFlight] }
  }

  private allUpdates(): Uint8Array[] {
    const { pieces, since } = this.bytes.contents()
    return [...pieces, ...since.map((a) => a.update)]
  }

  private readonly committed = (batch: PendingWrite[], id: LogId): void => {
    this.follower.ownEntry(id)
    this.deps.observer.updatesAccepted(batch.length, batch.reduce((sum, w) => sum + w.update.length, 0))
    for (const write of batch) {
      if (write.relog) continue
      this.gates.logged(write.info.clients, id) // first in the log keeps a unique key: now this write's place is known
      this.keep([{ id, writer: write.writer, update: write.update, info: write.info }], write.origin === SERVER ? null : write.origin)
      write.settle?.()
    }
    this.resyncRefused()
    this.intake.retryHeld()
  }

  private readonly failed = (batch: PendingWrite[], error: unknown): void => {
    this.deps.observer.appendFailed(batch.length)
    this.deps.logger.warn({ err: error, room: this.name, updates: batch.length }, 'log append failed; clients will resync')
    this.dropped(batch, new LogUnavailableError('update log unavailable'))
  }

  /**
   * The log refused a batch past MAX_DOC_BYTES (another node filled the document before this one
   * read it): its writers are closed as they would have been here, had this node known; what was
   * queued behind it is resent by its sockets, and checked again.
   */
  private readonly full = (batch: PendingWrite[], behind: PendingWrite[], error: DocumentFullError): void => {
    this.deps.logger.info({ room: this.name, bytes: error.bytes, updates: batch.length }, 'the log refused a batch: the document would pass its size limit')
    for (const write of batch) {
      if (!write.bounded || write.origin === SERVER) continue
      write.origin.send(permissionDeniedFrame('document is full'))
      write.origin.close(CloseCode.documentTooLarge, 'the document has reached its size limit')
    }
    this.dropped([...batch, ...behind], error)
  }

  /** Writes the log did not take: nothing of them was kept, but the content index took them in. */
  private dropped(writes: PendingWrite[], error: Error): void {
    for (const write of writes) {
      if (write.relog) this.relogPending = true
      else if (write.origin !== SERVER) write.origin.needsResync = true
      write.settle?.(error)
    }
    this.gates.build() // it took in what the log refused
    // With the log still taking writes (one append failed), refused sockets resend now, checked
    // against the rebuilt index; with the log down, onLogUp asks them.
    void this.gates.ready().then(() => {
      if (!this.closed && this.deps.log.isUp()) this.resyncRefused()
    })
  }

  /** Other nodes' entries, in log order (own ones are already kept). */
  keepRemote(entries: LogEntry[]): void {
    const accepted: Accepted[] = []
    for (const entry of entries) {
      if (compareLogIds(entry.id, this.bytes.baseWatermark) <= 0) continue // already in the base
      for (const { writer, update } of entry.updates) {
        const info = this.follower.infoOf(update)
        if (info) accepted.push({ id: entry.id, writer, update, info })
      }
    }
    if (accepted.length === 0) return
    this.gates.trust(accepted.map(({ id, writer, update }) => ({ writer, update, at: id })))
    this.keep(accepted, null)
    this.intake.retryHeld() // held updates may wait for content written on another node
  }
}
