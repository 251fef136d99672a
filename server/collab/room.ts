/**
 * A hot room: one Y.Doc + Awareness shared by this node's sockets in that room.
 *
 * Writes from sockets go through the RoomWriter (log first, then apply and broadcast). Entries
 * written by other nodes arrive through the log subscription. `watermark` is the position of
 * that subscription: every log entry ≤ watermark is in the doc; compaction folds the log up to
 * it into the next snapshot (`base`), which is also what fresh clients are sent first.
 */
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import { CloseCode } from '../../shared/close-codes.ts'
import { compareLogIds, parseLogId, type LogId } from '../log/log-id.ts'
import type { LogEntry, Subscription, UpdateLog } from '../log/types.ts'
import type { Logger } from '../logger.ts'
import { AwarenessOwners } from './awareness-guard.ts'
import type { Connection } from './connection.ts'
import type { Inbound } from './inbound.ts'
import type { CollabObserver } from './observer.ts'
import { LOAD, REMOTE, SERVER } from './origins.ts'
import { awarenessFrame, permissionDeniedFrame, syncStep1Frame, syncStep2Frame, updateFrame } from './outbound.ts'
import type { Role } from './principal.ts'
import { applyLogged, type Base, type LoadedState } from './room-loader.ts'
import { RoomWriter, type PendingWrite } from './room-writer.ts'
import { isEmptyUpdate } from './update-validator.ts'
import { SINCE_BASE_LIMITS, UpdatesSinceBase, type SinceBaseMark } from './updates-since-base.ts'

export interface RoomDeps {
  log: UpdateLog
  logger: Logger
  maxQueuedBytes: number
  /** Updates were applied (for compaction scheduling). */
  onApplied(room: Room, count: number): void
  /** Awareness changed locally; other nodes should hear it (no-op on a single node). */
  publishAwareness(room: string, update: Uint8Array): void
  /** Snapshot + log, as a fresh load would see them (used to recover from a log gap). */
  reload(room: string): Promise<LoadedState>
  observer: CollabObserver
}

export class LogUnavailableError extends Error {
  override name = 'LogUnavailableError'
}

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] }

export class Room {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly conns = new Set<Connection>()
  /** Sockets plus server-side users currently holding the room in memory. */
  holders = 0
  watermark: LogId
  /** Log entries at or below `watermark` that the last snapshot does not cover. */
  entriesSinceSnapshot: number
  lastAppliedAt = Date.now()
  lastSnapshotAt = Date.now()
  evictTimer: NodeJS.Timeout | undefined
  /** Its group was deleted: leave memory without a final snapshot. */
  discarded = false
  private readonly ownApplied = new Set<LogId>()
  private readonly owners = new AwarenessOwners()
  private readonly writer: RoomWriter
  private readonly unlogged: Uint8Array[] = []
  private subscription: Subscription | null = null
  /** The stored snapshot this room loaded from (or last compacted to), as pieces. */
  base: Base
  /** What the doc holds beyond `base`. */
  private readonly sinceBase: UpdatesSinceBase
  /** The frames that bring a client with an empty document up to date (until the next change). */
  private freshFrames: Uint8Array[] | null = null
  readonly name: string
  private readonly deps: RoomDeps

  constructor(
    name: string,
    state: LoadedState,
    deps: RoomDeps,
  ) {
    this.name = name
    this.deps = deps
    this.doc = state.doc
    this.watermark = state.watermark
    this.entriesSinceSnapshot = state.replayed
    this.base = state.base
    this.sinceBase = new UpdatesSinceBase(state.sinceBase, SINCE_BASE_LIMITS)
    this.awareness = new Awareness(this.doc)
    this.awareness.setLocalState(null)
    this.writer = new RoomWriter(name, deps.log, { committed: this.committed, failed: this.failed }, deps.maxQueuedBytes)
    this.doc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
  }

  /** Starts following the log from the loaded position. */
  start(): void {
    this.subscription = this.deps.log.subscribe(this.name, this.watermark, { entries: this.onLogEntries, gap: this.onGap })
  }

  join(conn: Connection): void {
    this.conns.add(conn)
    conn.send(syncStep1Frame(this.doc))
    const states = [...this.awareness.getStates().keys()]
    if (states.length > 0) conn.send(awarenessFrame(encodeAwarenessUpdate(this.awareness, states)))
  }

  leave(conn: Connection): void {
    if (!this.conns.delete(conn)) return
    const ids = this.owners.release(conn)
    if (ids.length > 0) removeAwarenessStates(this.awareness, ids, conn)
  }

  /** Handles one decoded message; throws ProtocolError for messages the socket may not send. */
  handle(conn: Connection, message: Inbound): void {
    switch (message.kind) {
      case 'sync-step1': conn.sendAll(this.syncFrames(message.stateVector)); return
      case 'sync-step2':
      case 'update':
        if (!isEmptyUpdate(message.summary)) this.receiveUpdate(conn, message.update)
        return
      case 'awareness':
        applyAwarenessUpdate(this.awareness, this.owners.admit(conn, message.entries, message.update, this.awareness), conn)
        return
      case 'query-awareness': this.sendAwareness(conn); return
      case 'auth': return
    }
  }

  /**
   * Runs a server-side edit (e.g. a chat message posted over REST) and resolves once it is in
   * the log. Refused up front when the log is down.
   */
  async serverWrite<T>(edit: (doc: Y.Doc) => T): Promise<T> {
    if (!this.deps.log.isUp()) throw new LogUnavailableError('update log unavailable')
    const updates: Uint8Array[] = []
    const capture = (update: Uint8Array, origin: unknown): void => {
      if (origin === SERVER) updates.push(update)
    }
    this.doc.on('update', capture)
    let result: T
    try {
      result = this.doc.transact(() => edit(this.doc), SERVER)
    } finally {
      this.doc.off('update', capture)
    }
    if (updates.length > 0) await this.logServerUpdate(Y.mergeUpdates(updates))
    return result
  }

  /** Closes every socket in the room. */
  closeAll(code: number, reason: string): void {
    for (const conn of this.conns) conn.close(code, reason)
  }

  /** Presence from another node (already validated there). */
  applyRemoteAwareness(update: Uint8Array): void {
    try {
      applyAwarenessUpdate(this.awareness, update, REMOTE)
    } catch (error) {
      this.deps.logger.warn({ err: error, room: this.name }, 'ignoring a malformed awareness relay')
    }
  }

  /** Drops relayed states of clients whose node died (never states of this node's sockets). */
  removeRemoteAwareness(ids: number[]): void {
    const own = new Set([...this.conns].flatMap((conn) => [...conn.awarenessIds]))
    const foreign = ids.filter((id) => !own.has(id))
    if (foreign.length > 0) removeAwarenessStates(this.awareness, foreign, REMOTE)
  }

  /** The states of this node's own sockets, for another node that just loaded the room. */
  localAwareness(): Uint8Array | null {
    const ids = [...this.conns].flatMap((conn) => [...conn.awarenessIds]).filter((id) => this.awareness.states.has(id))
    return ids.length > 0 ? encodeAwarenessUpdate(this.awareness, ids) : null
  }

  /**
   * Taken with the watermark a compaction folds up to. Everything applied so far is covered by
   * it unless own writes are applied but not yet behind the watermark (or still being logged).
   */
  compactionMark(): SinceBaseMark {
    return this.sinceBase.mark(this.ownApplied.size === 0 && this.writer.idle && this.unlogged.length === 0)
  }

  /** A compaction stored `base`: fresh clients get it (plus what came after) from now on. */
  rebase(base: Base, mark?: SinceBaseMark): void {
    this.base = base
    this.freshFrames = null
    if (mark) this.sinceBase.rebase(mark)
  }

  /** Changes a member's role on every socket they hold here; null closes those sockets. */
  applyRole(userId: string, role: Role | null): void {
    for (const conn of this.conns) {
      if (conn.principal.userId !== userId) continue
      if (role === null) conn.close(CloseCode.forbidden, 'membership revoked')
      else conn.setRole(role)
    }
  }

  /** The log is reachable again: resend what failed and ask refused sockets to resync. */
  onLogUp(): void {
    this.retryUnlogged()
    this.resyncRefused()
  }

  /** Resolves once every queued write has been logged and applied (or has failed). */
  drain(): Promise<void> {
    return this.writer.drain()
  }

  async close(): Promise<void> {
    await this.writer.drain()
    this.subscription?.close()
    this.subscription = null
    this.awareness.destroy()
    this.doc.destroy()
  }

  private receiveUpdate(conn: Connection, update: Uint8Array): void {
    if (!conn.canWrite) {
      conn.send(permissionDeniedFrame('read-only: viewers cannot edit this document'))
      return
    }
    if (!this.writer.enqueue({ update, writer: conn.principal.userId, origin: conn })) conn.needsResync = true
  }

  private logServerUpdate(update: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown): void => (error === undefined ? resolve() : reject(error))
      if (!this.writer.enqueue({ update, writer: SERVER_WRITER, origin: SERVER, settle })) {
        this.unlogged.push(update)
        reject(new LogUnavailableError('update log unavailable'))
      }
    })
  }

  /**
   * The answer to a sync step 1. A client that has nothing gets the stored pieces and the doc's
   * diff to them as update frames, then an empty step 2 (so `synced` still means it has
   * everything): no full encode of a big document on the main thread. Others get their diff.
   */
  private syncFrames(stateVector: Uint8Array): Uint8Array[] {
    const isEmpty = stateVector.length === 1 && stateVector[0] === 0
    if (!isEmpty) return [syncStep2Frame(Y.encodeStateAsUpdate(this.doc, stateVector))]
    this.freshFrames ??= this.buildFreshFrames()
    return this.freshFrames
  }

  private buildFreshFrames(): Uint8Array[] {
    const since = this.sinceBase.asUpdate()
    const rest = since === null ? [] : [updateFrame(since ?? Y.encodeStateAsUpdate(this.doc, this.base.stateVector))]
    return [...this.base.pieces.map(updateFrame), ...rest, EMPTY_STEP2_FRAME]
  }

  private sendAwareness(conn: Connection): void {
    const ids = [...this.awareness.getStates().keys()]
    conn.send(awarenessFrame(encodeAwarenessUpdate(this.awareness, ids)))
  }

  private readonly committed = (batch: PendingWrite[], id: LogId): void => {
    if (compareLogIds(id, this.watermark) > 0) this.ownApplied.add(id)
    this.deps.observer.updatesAccepted(batch.length, batch.reduce((sum, w) => sum + w.update.length, 0))
    for (const group of groupByOrigin(batch)) this.applyCommitted(group)
    this.resyncRefused()
    this.retryUnlogged()
  }

  private applyCommitted(group: PendingWrite[]): void {
    const origin = group[0]?.origin
    if (origin === SERVER) {
      for (const write of group) {
        this.broadcast(updateFrame(write.update), null)
        write.settle?.()
      }
      return
    }
    this.doc.transact(() => {
      for (const write of group) applyLogged(this.doc, write.update, origin, this.deps.logger, this.name)
    }, origin)
  }

  private readonly failed = (batch: PendingWrite[], error: unknown): void => {
    this.deps.observer.appendFailed(batch.length)
    this.deps.logger.warn({ err: error, room: this.name, updates: batch.length }, 'log append failed; clients will resync')
    for (const write of batch) {
      if (write.origin !== SERVER) write.origin.needsResync = true
      else {
        this.unlogged.push(write.update)
        write.settle?.(error)
      }
    }
  }

  /** Every entry (ours included) passes here in log order; this is where the watermark moves. */
  private readonly onLogEntries = (_room: string, entries: LogEntry[]): void => {
    let advanced = 0
    for (const entry of entries) {
      if (compareLogIds(entry.id, this.watermark) <= 0) continue
      if (!this.ownApplied.delete(entry.id)) {
        for (const { update } of entry.updates) applyLogged(this.doc, update, REMOTE, this.deps.logger, this.name)
        this.deps.observer.remoteApplied(Date.now() - parseLogId(entry.id)[0])
      }
      this.watermark = entry.id
      advanced += entry.updates.length
    }
    if (advanced > 0) this.noteAdvanced(advanced)
  }

  /**
   * We missed trimmed log entries: merge in the snapshot and log as they are now (Yjs merges
   * idempotently, so only what we lacked changes), then continue after the reloaded position.
   */
  private readonly onGap = (): void => {
    this.deps.logger.warn({ room: this.name, watermark: this.watermark }, 'log gap; reloading the room from its snapshot')
    this.deps.reload(this.name).then((state) => {
      Y.applyUpdate(this.doc, Y.encodeStateAsUpdate(state.doc), REMOTE)
      state.doc.destroy()
      this.rebase(state.base) // a gap is rare: one full encode here is acceptable
      this.sinceBase.drop()
      if (compareLogIds(state.watermark, this.watermark) > 0) this.watermark = state.watermark
      for (const id of this.ownApplied) if (compareLogIds(id, this.watermark) <= 0) this.ownApplied.delete(id)
      this.subscription?.resume(this.watermark)
    }, (error: unknown) => {
      this.deps.logger.error({ err: error, room: this.name }, 'reload after a log gap failed; retrying')
      setTimeout(this.onGap, 1_000).unref()
    })
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.freshFrames = null
    this.sinceBase.add(update)
    if (origin === SERVER || origin === LOAD) return // server edits broadcast once logged
    this.broadcast(updateFrame(update), origin)
  }

  private readonly onAwarenessUpdate = (change: AwarenessChange, origin: unknown): void => {
    const changed = [...change.added, ...change.updated, ...change.removed]
    const update = encodeAwarenessUpdate(this.awareness, changed)
    this.broadcast(awarenessFrame(update), origin)
    if (origin !== REMOTE) this.deps.publishAwareness(this.name, update)
  }

  /** Encoded once, sent to every socket but the one it came from. */
  private broadcast(frame: Uint8Array, except: unknown): void {
    let sent = 0
    for (const conn of this.conns) {
      if (conn === except) continue
      conn.send(frame)
      sent++
    }
    if (sent > 0) this.deps.observer.framesOut(sent, frame.length)
  }

  private noteAdvanced(count: number): void {
    this.entriesSinceSnapshot += count
    this.lastAppliedAt = Date.now()
    this.deps.onApplied(this, count)
  }

  private resyncRefused(): void {
    for (const conn of this.conns) {
      if (!conn.needsResync) continue
      conn.needsResync = false
      conn.send(syncStep1Frame(this.doc))
    }
  }

  private retryUnlogged(): void {
    while (this.unlogged.length > 0 && this.deps.log.isUp()) {
      const update = this.unlogged[0] as Uint8Array
      if (!this.writer.enqueue({ update, writer: SERVER_WRITER, origin: SERVER })) return
      this.unlogged.shift()
    }
  }
}

const SERVER_WRITER = 'server'

const EMPTY_STEP2_FRAME = syncStep2Frame(Y.encodeStateAsUpdate(new Y.Doc()))

/** Consecutive writes with the same origin, so each socket's burst is one transaction. */
function groupByOrigin(batch: PendingWrite[]): PendingWrite[][] {
  const groups: PendingWrite[][] = []
  for (const write of batch) {
    const last = groups.at(-1)
    if (last && last[0]?.origin === write.origin) last.push(write)
    else groups.push([write])
  }
  return groups
}
