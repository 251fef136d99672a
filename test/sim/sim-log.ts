/**
 * The update log of a simulated cluster: in memory, shared by every simulated node, with every
 * moment that Redis leaves to chance handed to fast-check's scheduler: when an append lands in
 * the stream, when its answer reaches the writer (before or after the writer's reader sees the
 * entry), and when each node's reader delivers what it has not read. Faults are switched by the
 * simulation's commands: appends that fail before landing or land and then fail ("timed out, but
 * written"), the log going down, a node whose reader is cut off, and a reset (Redis restarted
 * empty). A subscriber that has not read entries trimmed meanwhile gets `gap`, as from Redis.
 */
import type { Scheduler } from 'fast-check'
import type { Slicer } from '../../server/collab/turn-slicer.ts'
import { vi } from 'vitest'
import { compareLogIds, formatLogId, LOG_START, type LogId } from '../../server/log/log-id.ts'
import type { AppendOptions, HealthListener, LogEntry, LoggedUpdate, LogListener, Subscription, UpdateLog } from '../../server/log/types.ts'
import { unstuck } from './sim-time.ts'
import type { WorldLog } from './sim-world.ts'

/**
 * How a node's next append fails: `lost` (never written), `written-then-failed` (written, the
 * answer lost), `written-then-dropped` (written and readable for a while, then gone with the
 * master that held it before any replica did: a Redis failover; the append fails).
 */
export type AppendFault = 'none' | 'lost' | 'written-then-failed' | 'written-then-dropped'

interface Reader {
  node: string
  room: string
  position: LogId
  listener: LogListener
  paused: boolean
  closed: boolean
  /** A delivery is scheduled and not yet run. */
  scheduled: boolean
}

export class SimLog implements WorldLog {
  private readonly entries = new Map<string, LogEntry[]>()
  /** Per room, entries below this were trimmed. */
  private readonly trimmedBelow = new Map<string, LogId>()
  /** Each room's newest id when a trim emptied it (its head, as Redis keeps a stream's last id). */
  private readonly newestTrimmed = new Map<string, LogId>()
  private readonly readers = new Set<Reader>()
  private readonly cutOff = new Set<string>()
  private readonly faults = new Map<string, AppendFault>()
  private readonly healthListeners = new Set<HealthListener>()
  private readonly resetListeners = new Map<string, Set<() => void>>()
  private up = true
  private clock = 0
  /** Every update ever logged, in log order (the reference the simulation checks against). */
  readonly history: Array<{ room: string; id: LogId; updates: LoggedUpdate[] }> = []
  private readonly s: Scheduler
  private readonly onLogged: (room: string, updates: Uint8Array[]) => void

  constructor(scheduler: Scheduler, onLogged: (room: string, updates: Uint8Array[]) => void) {
    this.s = scheduler
    this.onLogged = onLogged
  }

  private readonly counts = { appends: 0, deliveries: 0, gaps: 0, dropped: 0, unanswered: 0 }

  /** What the log did so far (for traces). */
  activity(): string {
    return JSON.stringify(this.counts)
  }

  /** Appends written whose writer was told they failed (its node may write their content again). */
  get unanswered(): number {
    return this.counts.unanswered
  }

  /** Entries written so far (a clock for "logged before / after"). */
  get writes(): number {
    return this.clock
  }

  // --- the world's pace: the scheduler decides every race, fake time passes ----------------------

  /** A cold fold yields after every update it cuts, and the scheduler decides when it goes on. */
  readonly slicer = (): Slicer => ({ due: () => true, yield: () => this.s.schedule(Promise.resolve(), 'a fold slice') })

  /** Tasks the scheduler holds back (appends landing, answers, reads). */
  waiting(): number {
    return this.s.count()
  }

  /** Releases up to `count` of the scheduler's waiting tasks. */
  async step(count: number): Promise<void> {
    for (let i = 0; i < count && this.s.count() > 0; i++) await unstuck('a scheduled task', this.s.waitOne())
  }

  /** Lets promises run, and timers due within `ms` of fake time. */
  async settle(ms: number): Promise<void> {
    await unstuck('settling', (async () => {
      for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(0)
      await vi.advanceTimersByTimeAsync(ms)
    })())
  }

  /** Every fault healed: the log up, no node cut off. */
  heal(nodes: string[]): void {
    this.setUp(true)
    for (const node of nodes) this.cut(node, false)
  }

  /** One node's view of the log (its appends are tagged and faulted as that node's). */
  forNode(node: string): UpdateLog {
    return new NodeLog(this, node)
  }

  /** The next append of `node` fails as told. */
  failNextAppend(node: string, fault: AppendFault): void {
    this.faults.set(node, fault)
  }

  setUp(up: boolean): void {
    if (this.up === up) return
    this.up = up
    for (const listener of this.healthListeners) listener(up)
    if (up) for (const reader of this.readers) this.wake(reader)
  }

  get isUp(): boolean {
    return this.up
  }

  /** A node's reader stops receiving (a silent connection) until healed. */
  cut(node: string, cut: boolean): void {
    if (cut) this.cutOff.add(node)
    else this.cutOff.delete(node)
    // Cut off, a reader may have missed trims: it checks again when it reads on (as stream-reader.ts).
    if (!cut) for (const reader of this.readers) if (reader.node === node) this.wake(reader)
  }

  /** Redis restarted empty: every entry is gone (snapshots stay); nodes hear of it. */
  /** How many times the log lost everything. */
  resets = 0

  reset(): void {
    this.resets++
    if (process.env.SIM_DEBUG) console.log('RESET')
    this.entries.clear()
    this.trimmedBelow.clear()
    this.newestTrimmed.clear()
    for (const listeners of this.resetListeners.values()) for (const listener of listeners) listener()
  }

  roomEntries(room: string): LogEntry[] {
    return this.entries.get(room) ?? []
  }

  // --- what NodeLog calls --------------------------------------------------------------------

  append(node: string, room: string, updates: LoggedUpdate[], options: AppendOptions): Promise<LogId> {
    if (!this.up) return Promise.reject(new Error('log down'))
    this.counts.appends++
    const fault = this.faults.get(node) ?? 'none'
    this.faults.delete(node)
    // Landing and answering are two moments: another node may read the entry between them.
    const land = this.s.scheduleFunction(async () => (fault === 'lost' || !this.up ? null : this.write(room, updates, options.tag ?? '')))
    return land().then((id) => this.s.schedule(Promise.resolve(id), `reply ${node}`)).then((id) => {
      if (id === null) throw new Error('append failed')
      if (fault !== 'none') this.counts.unanswered++
      if (fault === 'written-then-failed') throw new Error('append timed out (it was written)')
      if (fault === 'written-then-dropped') {
        this.drop(room, id)
        throw new Error('append failed: its master went down before a replica had it')
      }
      return id
    })
  }

  read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    if (!this.up) return Promise.reject(new Error('log down'))
    return Promise.resolve(this.roomEntries(room).filter((e) => compareLogIds(e.id, after) > 0).slice(0, limit))
  }

  head(room: string): Promise<LogId> {
    if (!this.up) return Promise.reject(new Error('log down'))
    return Promise.resolve(this.roomEntries(room).at(-1)?.id ?? this.newestTrimmed.get(room) ?? LOG_START)
  }

  trim(room: string, upTo: LogId): Promise<void> {
    if (process.env.SIM_DEBUG) console.log('TRIM', room, upTo)
    if (!this.up) return Promise.reject(new Error('log down'))
    const newest = this.roomEntries(room).at(-1)?.id
    if (newest !== undefined) this.newestTrimmed.set(room, newest) // as Redis keeps a stream's last id
    this.entries.set(room, this.roomEntries(room).filter((e) => compareLogIds(e.id, upTo) > 0))
    const before = this.trimmedBelow.get(room)
    if (!before || compareLogIds(upTo, before) > 0) this.trimmedBelow.set(room, upTo)
    return Promise.resolve()
  }

  deleteRoom(room: string): Promise<void> {
    this.entries.delete(room)
    return Promise.resolve()
  }

  roomsWithEntries(): Promise<string[]> {
    if (!this.up) return Promise.reject(new Error('log down'))
    return Promise.resolve([...this.entries].filter(([, list]) => list.length > 0).map(([room]) => room))
  }

  subscribe(node: string, room: string, after: LogId, listener: LogListener): Subscription {
    const reader: Reader = { node, room, position: after, listener, paused: false, closed: false, scheduled: false }
    this.readers.add(reader)
    this.wake(reader)
    return {
      resume: (position) => {
        reader.position = position
        reader.paused = false
        this.wake(reader)
      },
      close: () => {
        reader.closed = true
        this.readers.delete(reader)
      },
    }
  }

  onHealth(listener: HealthListener): () => void {
    this.healthListeners.add(listener)
    return () => this.healthListeners.delete(listener)
  }

  onReset(node: string, listener: () => void): () => void {
    const set = this.resetListeners.get(node) ?? new Set()
    set.add(listener)
    this.resetListeners.set(node, set)
    return () => set.delete(listener)
  }

  // --- internals -------------------------------------------------------------------------------

  private write(room: string, updates: LoggedUpdate[], tag: string): LogId {
    const id = formatLogId(++this.clock, 0)
    if (process.env.SIM_DEBUG) console.log('WRITE', room, id, tag, updates.length)
    const entry = { id, tag, updates }
    const list = this.entries.get(room) ?? []
    list.push(entry)
    this.entries.set(room, list)
    this.history.push({ room, id, updates })
    this.onLogged(room, updates.map((u) => u.update))
    for (const reader of this.readers) if (reader.room === room) this.wake(reader)
    return id
  }

  /** An entry leaves the log (unless a trim took it already); whoever read it keeps what it read. */
  private drop(room: string, id: LogId): void {
    if (process.env.SIM_DEBUG) console.log('DROP', room, id)
    this.counts.dropped++
    this.entries.set(room, this.roomEntries(room).filter((e) => e.id !== id))
  }

  /** Schedules one delivery for a reader with something to read (one at a time per reader). */
  private wake(reader: Reader): void {
    if (reader.scheduled || reader.closed || reader.paused) return
    if (!this.hasWork(reader)) return
    reader.scheduled = true
    void this.s.schedule(Promise.resolve(), `deliver ${reader.node}`).then(() => {
      reader.scheduled = false
      this.deliver(reader)
      this.wake(reader)
    })
  }

  private hasWork(reader: Reader): boolean {
    if (this.cutOff.has(reader.node) || !this.up) return false
    return this.gapFor(reader) || this.roomEntries(reader.room).some((e) => compareLogIds(e.id, reader.position) > 0)
  }

  private gapFor(reader: Reader): boolean {
    const trimmed = this.trimmedBelow.get(reader.room)
    if (!trimmed || compareLogIds(trimmed, reader.position) <= 0) return false
    // Entries after the position and up to the trim are gone: was any of them ever written?
    return this.history.some((h) => h.room === reader.room && compareLogIds(h.id, reader.position) > 0 && compareLogIds(h.id, trimmed) <= 0)
  }

  private deliver(reader: Reader): void {
    if (reader.closed || reader.paused || this.cutOff.has(reader.node) || !this.up) return
    if (this.gapFor(reader)) {
      this.counts.gaps++
      reader.paused = true
      reader.listener.gap(reader.room)
      return
    }
    const fresh = this.roomEntries(reader.room).filter((e) => compareLogIds(e.id, reader.position) > 0).slice(0, 3)
    if (fresh.length === 0) return
    reader.position = fresh.at(-1)!.id
    this.counts.deliveries++
    reader.listener.entries(reader.room, fresh)
  }
}

/** What one node sees: the UpdateLog interface over the shared simulated log. */
class NodeLog implements UpdateLog {
  readonly kind = 'redis' as const
  private readonly log: SimLog
  private readonly node: string

  constructor(log: SimLog, node: string) {
    this.log = log
    this.node = node
  }

  append(room: string, updates: LoggedUpdate[], options: AppendOptions = {}): Promise<LogId> {
    return this.log.append(this.node, room, updates, options)
  }

  read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    return this.log.read(room, after, limit)
  }

  head(room: string): Promise<LogId> {
    return this.log.head(room)
  }

  trim(room: string, upTo: LogId): Promise<void> {
    if (process.env.SIM_DEBUG) console.log('TRIM', room, upTo)
    return this.log.trim(room, upTo)
  }

  deleteRoom(room: string): Promise<void> {
    return this.log.deleteRoom(room)
  }

  size(room: string): Promise<number> {
    return Promise.resolve(this.log.roomEntries(room).length)
  }

  subscribe(room: string, after: LogId, listener: LogListener): Subscription {
    return this.log.subscribe(this.node, room, after, listener)
  }

  roomsWithEntries(): Promise<string[]> {
    return this.log.roomsWithEntries()
  }

  isUp(): boolean {
    return this.log.isUp
  }

  onHealth(listener: HealthListener): () => void {
    return this.log.onHealth(listener)
  }

  onReset(listener: () => void): () => void {
    return this.log.onReset(this.node, listener)
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
