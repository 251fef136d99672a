/**
 * A hot room: its sockets, and the pieces that serve them, wired around the room core, which
 * alone owns the document's state (room-core.ts). No Y.Doc on the hot path: an update from a
 * socket is checked on its bytes and cut to what the document lacks (intake), logged in batches
 * (RoomWriter), and enters the core once the log holds it, whichever of the append's answer and
 * the log read comes first; other nodes' entries enter through the log subscription (RoomFollower).
 * What enters is relayed once to every synced socket, its writer's included. A Y.Doc exists only
 * in the doc worker, on demand (DocView).
 */
import * as decoding from 'lib0/decoding'
import { CloseCode } from '../../../shared/close-codes.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { compareLogIds, type LogId } from '../../log/log-id.ts'
import { AppendRefusedError, DocumentFullError, type LogEntry, type UpdateLog } from '../../log/types.ts'
import type { Logger } from '../../logger.ts'
import type { Author } from '../content/content-gate.ts'
import type { RuleOptions } from '../content/document-rules.ts'
import type { Duplicate } from '../content/rules.ts'
import type { HeldLimits } from '../intake/held-updates.ts'
import { GateKeeper, type GateSource } from '../intake/room-gate.ts'
import { EditRefusedError, LogUnavailableError, PostBudgetError, RoomIntake } from '../intake/room-intake.ts'
import type { CollabObserver } from '../observer.ts'
import type { Role } from '../principal.ts'
import { RoomAwareness } from '../presence/room-awareness.ts'
import { planSync } from '../sync/sync-answer.ts'
import { deletionUpdate } from '../sync/update-info.ts'
import type { Connection } from '../wire/connection.ts'
import type { Inbound } from '../wire/inbound.ts'
import { permissionDeniedFrame, syncStep1Frame, updateFrame } from '../wire/outbound.ts'
import type { DocWorker } from '../workers/doc-worker-client.ts'
import type { ViewAnswer, ViewOp } from '../workers/view-ops.ts'
import type { StoredBase } from './doc-bytes.ts'
import { DocView, type DocViewOptions } from './doc-view.ts'
import { SERVER } from './origins.ts'
import { RoomBudgets, type UserRates } from './room-budgets.ts'
import type { UserBudgetStore } from './user-budget-store.ts'
import { RoomCore, type DocReader, type FoldPlan } from './room-core.ts'
import { RoomFollower } from './room-follower.ts'
import { infoOrSkip, type LoadedRoom } from './room-loader.ts'
import { RoomWriter, type PendingWrite } from './room-writer.ts'

export interface RoomLimits {
  maxQueuedBytes: number
  maxDocBytes: number
  /** What one user may spend here across her sockets (writes, presence, sync answers). */
  perUser: UserRates
  /** Documents up to this size get their content index built on the main thread. */
  indexInlineBytes: number
  view: DocViewOptions
  presence: { maxIdsPerSocket: number; outdatedMs: number }
  held: HeldLimits
}

export interface RoomDeps {
  kind: RoomKind
  /** This process, among the log's writers (its appends' tags start with it). */
  node: string
  log: UpdateLog
  logger: Logger
  observer: CollabObserver
  worker: DocWorker
  rules: RuleOptions
  limits: RoomLimits
  /** Updates entered (for compaction scheduling). */
  onApplied(room: Room): void
  /** Presence changed here; other nodes should hear it (no-op on a single node). */
  publishAwareness(room: string, update: Uint8Array): void
  /** Snapshot + log, as a fresh load would see them (after a log gap). */
  reload(room: string): Promise<LoadedRoom>
  /** The log lost its entries since this process started (a Redis restarted empty). */
  logLost(): boolean
  /** Users' budgets, the node's (absent: the room's own, gone with it). */
  budgetStore?: UserBudgetStore<keyof UserRates>
}

/** Server-side edits a room runs on behalf of a user. */
export type EditKind = 'post' | 'restore' | 'rollback'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** An update written to the log again after the log lost it. */
type RelogWrite = Pick<PendingWrite, 'update' | 'info' | 'writer' | 'relogOf'>

/** A relog the log did not take (it is up, but an append failed) is tried again after this long. */
const RELOG_RETRY_MS = 1_000

export { EditRefusedError, LogUnavailableError, PostBudgetError }

export class Room {
  readonly name: string
  readonly kind: RoomKind
  readonly conns = new Set<Connection>()
  readonly view: DocView
  readonly gates: GateKeeper
  /** Sockets plus server-side users currently holding the room in memory. */
  holders = 0
  lastAppliedAt = Date.now()
  lastSnapshotAt = Date.now()
  evictTimer: NodeJS.Timeout | undefined
  /** Its group was deleted: leave memory without a final snapshot. */
  discarded = false
  private closed = false
  /** Presence traffic, and whether the other nodes' claims are known here yet (writes wait). */
  readonly awareness: RoomAwareness
  readonly budgets: RoomBudgets
  private readonly core: RoomCore
  private readonly writer: RoomWriter
  private readonly intake: RoomIntake
  private readonly follower: RoomFollower
  private readonly serverClients = new Map<string, number>()
  private svgCache: { version: number; maxBytes: number; svg: string | null } | null = null
  /** What the log lost and this room holds: written again as soon as the log takes it. */
  private owedToLog: RelogWrite[] = []
  private owedTimer: NodeJS.Timeout | undefined
  private parkedTimer: NodeJS.Timeout | undefined
  /** The log lost entries and the snapshot that may hold those this node never read is not read yet. */
  private lossUnread = false
  private lossTimer: NodeJS.Timeout | undefined
  readonly deps: RoomDeps

  constructor(name: string, loaded: LoadedRoom, deps: RoomDeps) {
    this.name = name
    this.kind = deps.kind
    this.deps = deps
    this.budgets = new RoomBudgets(deps.limits.perUser, deps.budgetStore, name)
    this.core = new RoomCore(loaded, deps.node, {
      relay: (update) => this.relay(update),
      trust: (updates, bindings) => this.gates.trust(updates, bindings),
      logged: (write, id) => {
        this.gates.logged(write.info.clients, id)
        this.deps.observer.updatesAccepted(1, write.update.length)
      },
      diff: (pieces, stateVector) => deps.worker.diff(pieces, stateVector),
      infoOf: (update) => infoOrSkip(update, name, deps.logger),
      changed: () => this.changed(),
      lost: (writes) => this.owe(writes),
    })
    this.writer = new RoomWriter(name, deps.log, {
      sending: (batch) => this.core.sent(batch),
      appended: (tag, id) => {
        this.core.appended(tag, id)
        this.resyncRefused() // sockets whose writes met a full queue resend now
      },
      failed: (tag, batch, behind, error) => this.appendFailed(tag, batch, behind, error),
    }, deps.limits.maxQueuedBytes, () => ({ maxDocBytes: deps.limits.maxDocBytes, base: this.sizeBase() }))
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
      installed: () => this.intake.retryHeld(),
      logger: deps.logger,
    })
    this.intake = new RoomIntake({
      room: name,
      gates: this.gates,
      hearing: this.awareness.hearing,
      budgets: this.budgets,
      writer: this.writer,
      heldBytes: () => this.bytes.bytes,
      maxDocBytes: deps.limits.maxDocBytes,
      held: deps.limits.held,
      position: () => this.core.position,
      logHead: () => deps.log.head(name),
      logLost: () => deps.logLost(),
      sockets: () => this.conns,
      isClosed: () => this.closed,
      observer: deps.observer,
      logger: deps.logger,
    })
    this.view = new DocView(name, deps.worker, () => this.allUpdates(), deps.limits.view)
    this.follower = new RoomFollower({
      room: name,
      log: deps.log,
      logger: deps.logger,
      position: () => this.core.position,
      read: (entries) => this.enter(entries),
      catchUp: () => this.catchUp(),
    })
  }

  /** The document, as bytes (read only: the core changes it). */
  get bytes(): DocReader {
    return this.core.doc
  }

  /** Every log entry up to here is in the document. */
  get watermark(): LogId {
    return this.core.position
  }

  /** Kept updates not in a snapshot yet. */
  get entriesSinceSnapshot(): number {
    return this.core.doc.updateCount
  }

  /** Kept updates a compaction could fold now. */
  get foldable(): number {
    return this.core.foldable
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
    this.intake.forget(conn)
    this.awareness.leave(conn)
  }

  /** Handles one decoded message; throws ProtocolError for messages the socket may not send. */
  handle(conn: Connection, message: Inbound): void {
    switch (message.kind) {
      case 'sync-step1': void this.answer(conn, message.stateVector); return
      case 'sync-step2': this.intake.receive(conn, message.update, true); return
      case 'update': this.intake.receive(conn, message.update, false); return
      case 'awareness': this.awareness.receive(conn, message.entries); return
      case 'query-awareness': this.awareness.answerQuery(conn); return
      case 'auth': return
    }
  }

  /** Reads through the room's materialized document (in the doc worker). */
  async read<K extends 'messages' | 'message' | 'strokes'>(op: Extract<ViewOp, { kind: K }>): Promise<ViewAnswer<K>['result']> {
    return (await this.view.run(op)).result
  }

  /**
   * The canvas as SVG, cached per version of the document; null when larger than `maxBytes`.
   * `rendering` is called (and may throw, refusing) only when it is not cached: a render is work
   * in the doc worker every room shares, and its asker pays for it.
   */
  async svg(maxBytes: number, rendering: () => void = () => undefined): Promise<string | null> {
    const version = this.bytes.version
    const cached = this.svgCache
    if (cached && cached.version === version && cached.maxBytes === maxBytes) return cached.svg
    rendering()
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
      if (!conn.canWrite) this.intake.forget(conn) // what it held was never accepted
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
    if (this.lossUnread) void this.catchUpAfterLoss()
    this.flushOwed()
    this.resyncRefused()
  }

  /**
   * The log lost what it held (a Redis without persistence restarted): write again everything
   * this room kept beyond its snapshot, so the log (and every other node) has it again. The core
   * knows all of it already, so none of it is kept or relayed twice. Entries this node had not
   * read yet are gone from the log for good: what of them another node folded into a snapshot
   * comes from there, and other nodes relog what they hold.
   */
  async relog(): Promise<void> {
    this.core.logLost()
    this.owe(this.bytes.contents().since.map((accepted) => ({ ...accepted, relogOf: accepted })))
    this.intake.logLost()
    await this.catchUpAfterLoss()
  }

  /**
   * After a loss the log cannot show a gap any more (what this node had not read is simply gone),
   * so the snapshot is read now, and again until that succeeds (the log or storage may be down).
   */
  private async catchUpAfterLoss(): Promise<void> {
    this.lossUnread = true
    try {
      await this.catchUp()
      this.lossUnread = false
    } catch (error) {
      this.deps.logger.warn({ err: error, room: this.name }, 'could not read the snapshot after the log lost its entries; trying again')
      clearTimeout(this.lossTimer)
      this.lossTimer = setTimeout(() => { if (!this.closed && this.lossUnread) void this.catchUpAfterLoss() }, RELOG_RETRY_MS)
      this.lossTimer.unref()
    }
  }

  /** Updates the log lost: owed until it takes them (a compaction meanwhile does not settle the debt). */
  private owe(writes: readonly RelogWrite[]): void {
    this.owedToLog.push(...writes.map(({ update, info, writer, relogOf }) => ({ update, info, writer, ...(relogOf && { relogOf }) })))
    this.flushOwed()
  }

  /** Sends what is owed to the log, as far as its queue takes it now; a full queue is looked at again once it drains. */
  private flushOwed(): void {
    if (this.closed) return
    while (this.owedToLog.length > 0) {
      const write = this.owedToLog[0]!
      if (!this.writer.accepts(write.update.length)) break
      this.owedToLog.shift()
      this.writer.enqueue({ ...write, origin: SERVER, relog: true })
    }
    // A full queue is looked at again once it drains (it holds writes, so that takes a log round trip).
    if (this.owedToLog.length > 0 && !this.writer.idle) void this.writer.drain().then(() => this.flushOwed())
  }

  /** A snapshot becomes the base if it covers more of the log (room-core.ts). */
  async adoptBase(base: StoredBase): Promise<boolean> {
    const adopted = await this.core.adoptBase(base)
    if (adopted) this.lastSnapshotAt = Date.now()
    return adopted
  }

  /** What a compaction of this room folds now. */
  foldPlan(): FoldPlan {
    return this.core.foldPlan()
  }

  /** History stored the edit records of these kept updates. */
  markRecorded(updates: FoldPlan['updates']): void {
    this.core.markRecorded(updates)
  }

  /** The log lost content this room holds, and it is not written again yet: it must not leave memory. */
  get holdsUnlogged(): boolean {
    return this.owedToLog.length > 0 || this.writer.inFlight().some((write) => write.relog)
  }

  /** Writes queued for the log or being logged, and batches logged but not yet entered. */
  get writesInFlight(): number {
    return this.writer.inFlight().length + this.core.unsettled
  }

  /** Resolves once every queued write has been logged (or has failed). */
  drain(): Promise<void> {
    return this.writer.drain()
  }

  async close(): Promise<void> {
    await this.writer.drain()
    this.closed = true
    clearTimeout(this.owedTimer)
    clearTimeout(this.lossTimer)
    clearTimeout(this.parkedTimer)
    this.intake.close()
    this.awareness.stop()
    this.follower.stop()
    this.gates.close()
    this.view.close()
  }

  /** Encoded once, sent to every socket but `except` (presence). */
  broadcast(frame: Uint8Array, except: Connection | null): void {
    let sent = 0
    for (const conn of this.conns) {
      if (conn === except) continue
      conn.send(frame)
      sent++
    }
    if (sent > 0) this.deps.observer.framesOut(sent, frame.length)
  }

  resyncRefused(): void {
    this.resync('needsResync')
  }

  /** Content entered: sockets declined after a loss resend what they have (it may fit now). */
  private resyncDeclined(): void {
    this.resync('resyncOnContent')
  }

  /** Sends sync step 1 to the sockets flagged `flag`, once (the flag is cleared). */
  private resync(flag: 'needsResync' | 'resyncOnContent'): void {
    for (const conn of this.conns) {
      if (!conn[flag]) continue
      conn[flag] = false
      conn.send(syncStep1Frame(this.bytes.stateVector()))
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  /** An update entered the core: to the view, and once to every synced socket (its writer too). */
  private relay(update: Uint8Array): void {
    this.view.feed(update)
    const frame = updateFrame(update)
    let sent = 0
    for (const conn of this.conns) {
      if (!conn.synced) continue // its first answer, when planned, holds this update
      conn.send(frame)
      sent++
    }
    if (sent > 0) this.deps.observer.framesOut(sent, frame.length)
  }

  private changed(): void {
    this.lastAppliedAt = Date.now()
    this.deps.onApplied(this)
    this.intake.retryHeld() // held updates may wait for content that just entered
    if (this.deps.logLost()) this.resyncDeclined() // only a loss declines honest sockets' edits
    if (this.bytes.parkedUpdates.length > 0) this.lookForParkedBase()
  }

  /**
   * Held updates that build on content no entry read here carries (only after the log lost
   * entries): a snapshot stored since may hold it (another node folded what it kept), so it is
   * read again a little later, and again while they stay parked.
   */
  private lookForParkedBase(): void {
    if (this.parkedTimer) return
    this.parkedTimer = setTimeout(() => {
      this.parkedTimer = undefined
      if (!this.closed && this.bytes.parkedUpdates.length > 0) void this.catchUpAfterLoss().then(() => { if (this.bytes.parkedUpdates.length > 0) this.lookForParkedBase() })
    }, RELOG_RETRY_MS)
    this.parkedTimer.unref()
  }

  /**
   * A snapshot stored elsewhere is past what this room read, and its reader brings nothing (a
   * failover dropped the entries it waits for, and no newer entry shows it the trim): it reads
   * the snapshot and the log after it now.
   */
  async catchUpToStored(): Promise<void> {
    await this.catchUp()
  }

  /** Entries were trimmed before this node read them: the stored snapshot, then the log after it. */
  private async catchUp(): Promise<LogId> {
    const loaded = await this.deps.reload(this.name)
    if (this.closed) return this.core.position
    await this.adoptBase(loaded.base)
    this.enter(loaded.entries)
    return this.core.position
  }

  /** Entries read from the log, live or after a gap. */
  private enter(entries: readonly LogEntry[]): void {
    this.core.read(entries)
    this.intake.retryHeld() // the position moved: foreign content may have had its chance
  }

  private async answer(conn: Connection, stateVector: Uint8Array): Promise<void> {
    if (conn.isClosed) return // an earlier message in the same read closed it
    const first = conn.syncs++ === 0
    if (statedClients(stateVector) > this.bytes.vectorMap.size + STATE_VECTOR_SLACK) {
      conn.close(CloseCode.policyViolation, 'the state vector names more clients than the document has')
      return
    }
    const planned = planSync(this.bytes, stateVector, this.deps.worker)
    if (!this.budgets.paySync(conn, planned.cost + stateVector.length, first)) {
      // A first sync waits for the user's budget to refill (a stock client retries); a socket
      // asking again and again has spent its own.
      if (first) conn.close(CloseCode.tryAgainLater, 'sync budget spent for now: try again in a minute')
      else conn.close(CloseCode.rateLimited, 'sync budget spent: too many or too costly sync requests')
      return
    }
    conn.synced = true // what enters from now on is relayed to it; what entered before is planned
    try {
      conn.sendAll(await planned.answer())
    } catch (error) {
      this.deps.logger.error({ err: error, room: this.name }, 'answering a sync failed')
      conn.close(CloseCode.tryAgainLater, 'sync failed, try again later')
    }
  }

  /**
   * The log did not take a batch (and those queued behind it, never sent). Unless its entry was
   * read all the same, nothing of it entered. A batch the log refused (the document is full,
   * Redis answered with an error) is not in it; one whose append failed otherwise may be: its
   * answer was lost, or a Redis failover dropped it after another node read and kept it. Its
   * sockets' updates are written again by this node, as owed to the log, rather than left to
   * their writers, who may be gone before they resend (and the nodes that read it would then
   * hold what the log and the others lack).
   */
  private appendFailed(tag: string, batch: PendingWrite[], behind: PendingWrite[], error: unknown): void {
    const entered = !this.core.appendFailed(tag)
    const unsent = entered ? behind : [...batch, ...behind]
    const full = error instanceof DocumentFullError
    if (full) this.refusedAsFull(batch, error)
    else {
      this.deps.observer.appendFailed(unsent.length)
      this.deps.logger.warn({ err: error, room: this.name, updates: unsent.length }, 'log append failed; its socket updates are written again, sockets resync for what was never sent')
    }
    const refused = full || error instanceof AppendRefusedError // surely not in the log
    const writeAgain = new Set(refused || entered ? [] : batch.filter((write) => write.origin !== SERVER))
    if (unsent.length > 0) this.dropped(unsent, writeAgain, full ? error : new LogUnavailableError('update log unavailable'))
  }

  /**
   * Where the log counts the document's size from: what this room holds, at the position it has
   * read to (or its snapshot's watermark, if that is further), plus every entry logged after it.
   * Counted from the snapshot alone, content two nodes logged at once (one user's two sockets
   * sending it) counted twice until the next compaction; what this room holds counts it once.
   */
  private sizeBase(): { watermark: LogId; bytes: number } {
    const [position, watermark] = [this.core.position, this.bytes.baseWatermark]
    return { watermark: compareLogIds(position, watermark) > 0 ? position : watermark, bytes: this.bytes.bytes }
  }

  /**
   * The log counts the document full. It counts from what a room held at some position plus
   * every entry after it (`sizeBase`), so content logged twice after that position (two nodes
   * taking one user's same update at once) counts twice until a room that read it counts again.
   * When this room has read to the log's head and its own count says the batch fits, the writers
   * are told to come back (1013: a stock client reconnects and resends, and the next append
   * counts from here); otherwise the document is full (4413), as it is when another node's
   * content this room has not read yet fills it.
   */
  private refusedAsFull(batch: PendingWrite[], error: DocumentFullError): void {
    const writers = batch.flatMap((write) => (write.bounded && write.origin !== SERVER ? [write.origin] : []))
    const batchBytes = batch.reduce((sum, write) => sum + write.update.length, 0)
    if (this.bytes.bytes + batchBytes > this.deps.limits.maxDocBytes) return this.closeFull(writers, error)
    const position = this.core.position
    // The log's head unknown (Redis went away meanwhile): nothing says the document is full for
    // good, so the writers come back (1013, not the terminal 4413).
    this.deps.log.head(this.name).then((head) => compareLogIds(head, position) <= 0, () => true).then((readAll) => {
      if (this.closed) return
      if (!readAll) return this.closeFull(writers, error)
      this.deps.logger.info({ room: this.name, bytes: error.bytes, held: this.bytes.bytes, updates: batch.length }, 'the log counted the document fuller than this room holds it: its writers come back (the next count starts from what the room holds)')
      for (const conn of writers) conn.close(CloseCode.tryAgainLater, 'the document\'s size is being counted again; reconnect')
    }).catch((failure: unknown) => this.deps.logger.warn({ err: failure, room: this.name }, 'could not answer writers refused as over the size limit'))
  }

  private closeFull(writers: Connection[], error: DocumentFullError): void {
    this.deps.logger.info({ room: this.name, bytes: error.bytes, writers: writers.length }, 'the log refused a batch: the document would pass its size limit')
    for (const conn of writers) {
      conn.send(permissionDeniedFrame('document is full'))
      conn.close(CloseCode.documentTooLarge, 'the document has reached its size limit')
    }
  }

  /**
   * Writes the log did not take: nothing of them was kept, but the content index took them in.
   * Relogs, and `writeAgain`, are owed to the log (the index holds what is owed); the rest is
   * lost for good, and its writers send it again when asked.
   */
  private dropped(writes: PendingWrite[], writeAgain: ReadonlySet<PendingWrite>, error: Error): void {
    let forGood = false
    for (const write of writes) {
      if (write.relog) this.owedToLog.push(write)
      else if (writeAgain.has(write)) this.owedToLog.push({ update: write.update, info: write.info, writer: write.writer })
      else {
        write.settle?.(error)
        forGood = true
      }
    }
    if (forGood) this.resyncAfterLoss()
    // Sockets' updates go again at once, as their resends would; a relog (or a rewrite failing
    // again) waits a little, so a log that keeps failing is not hammered.
    if (writeAgain.size > 0 && this.deps.log.isUp()) this.flushOwed()
    else if (this.owedToLog.length > 0) this.retryOwedSoon()
  }

  /** Writes were lost for good: the index forgets them, and every socket is asked for what it has. */
  private resyncAfterLoss(): void {
    // Every socket resyncs, not only the writers': another socket may have sent the same content
    // meanwhile and had it cut as already on its way (its writer's socket may be gone since).
    for (const conn of this.conns) conn.needsResync = true
    this.gates.build() // it took in what the log refused
    // With the log still taking writes (one append failed), refused sockets resend now, checked
    // against the rebuilt index; with the log down, onLogUp asks them.
    void this.gates.ready().then(() => {
      if (!this.closed && this.deps.log.isUp()) this.resyncRefused()
    })
  }

  private retryOwedSoon(): void {
    clearTimeout(this.owedTimer)
    this.owedTimer = setTimeout(() => {
      if (!this.closed && this.deps.log.isUp()) this.flushOwed()
    }, RELOG_RETRY_MS)
    this.owedTimer.unref()
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
    const inFlight = [...this.writer.inFlight(), ...this.owedToLog].map(({ writer, update }) => ({ writer, update })) // no log id yet
    return { pieces, bindings: this.bytes.bindings, updates: [...since.map(({ id, writer, update }) => ({ writer, update, at: id })), ...inFlight] }
  }

  private allUpdates(): Uint8Array[] {
    const { pieces, since } = this.bytes.contents()
    return [...pieces, ...since.map((a) => a.update)]
  }
}

/**
 * A client's state vector names the clients of the document it holds: the room's, and a few of
 * its own whose edits it has not sent yet. Decoding one of 600,000 made-up clients (4.6 MiB)
 * took every room's event loop ~100 ms and hundreds of MiB; such a vector is refused unread.
 */
const STATE_VECTOR_SLACK = 1_024

/** The number of entries a state vector says it holds (its first varint), read without decoding them. */
function statedClients(stateVector: Uint8Array): number {
  try {
    return decoding.readVarUint(decoding.createDecoder(stateVector))
  } catch {
    return 0 // an empty or broken vector: decoding it is what refuses it
  }
}
