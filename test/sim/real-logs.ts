/**
 * The real update logs under the simulated nodes (real-log.sim.test.ts), as `WorldLog`s: the
 * embedded log (LevelDB in a temporary directory; one node, as in production: it is one process's
 * log, and its subscriptions replay nothing written before they start, so a second node would miss
 * what the first wrote while it loaded), and Redis Streams (one RedisLog with its own connections
 * per node, all over one Redis under a prefix of the run's own).
 *
 * What was logged: a real log does not say when an entry lands, so an entry counts as logged when
 * it is first seen logged, whichever comes first: its append resolving, or a read (a subscription's
 * delivery, a load, the checker) returning it. Both come after it landed, and before the node that
 * saw it can pass it on, so "nothing reached a socket before it was logged" still holds exactly;
 * and a socket that opened before an entry was seen receives it on that socket or held it at open
 * either way. Entries are told once (per room and id; after a reset, ids start over as far as
 * this goes).
 *
 * Time: vitest fakes setTimeout/setInterval only; the clock (Date), setImmediate (the Redis client
 * writes commands in one, the embedded log starts its group commits in one), timers/promises
 * sleeps (the Redis client's reconnects, the stream reader's retries) and all I/O are real. A
 * settle lets the I/O that has arrived run, then advances fake time; a long one (quiescing)
 * advances it in steps of CHUNK_MS and before each waits, in real time, for the logs' I/O to land
 * (nothing in flight, every log answering, every hot room caught up with its log's head), so timers
 * never run far ahead of a log that is still answering. Redis command deadlines are set far beyond
 * any run's fake time: timers jump while real I/O is in flight, so a deadline among them would time
 * out commands Redis answered at once (silent connections are the faults suite's business,
 * test/faults).
 *
 * Date stays real because Redis stamps entries with its real clock and a node trims only entries
 * older than REDIS_MIN_ENTRY_AGE_MS by its own clock: a live stream reader relies on that age to
 * read an entry before it is trimmed (it checks for trimmed entries only when it starts following a
 * room or after losing Redis). A fake clock runs minutes ahead of Redis's within a run, which
 * trims entries as young as a reader's next XREAD; so does a minimum age of 0 (see
 * SIM_REDIS_MIN_AGE_MS). The age is 1 s here, as in the cluster tests. What the real clock costs:
 * held updates never expire within a run (30 s), and catch-ups after a gap are spaced in real time.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { vi } from 'vitest'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { readSince } from '../../server/collab/room/room-loader.ts'
import { EmbeddedLog } from '../../server/log/embedded-log.ts'
import { compareLogIds, LOG_START, type LogId } from '../../server/log/log-id.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import type { AppendOptions, HealthListener, LogEntry, LoggedUpdate, LogListener, Subscription, UpdateLog } from '../../server/log/types.ts'
import { realNow, realSleep, realTurn, unstuck } from './sim-time.ts'
import { ROOMS, type OnLogged, type SimNode, type WorldLog } from './sim-world.ts'

const silent = pino({ level: 'silent' })
/** A long settle advances fake time in steps this long, the logs' I/O landing between them. */
const CHUNK_MS = 50
/** Longest real wait for the logs' I/O to land before the next step of fake time. */
const IO_MS = 250
/** After a wait for the I/O ran out, waits are this short until it lands again (a stuck run fails fast). */
const IMPATIENT_MS = 20
/** `step(k)` lets the I/O run up to k times this long (real ms), or until it has all landed. */
const STEP_MS = 3
/** Longest real wait for every log to answer again before quiescing. */
const HEAL_MS = 5_000
/** Far beyond any run's fake time (see above). */
const REDIS_TIMEOUT_MS = 3_600_000
/** REDIS_MIN_ENTRY_AGE_MS of the simulated nodes (see above). */
const MIN_ENTRY_AGE_MS = Number(process.env.SIM_REDIS_MIN_AGE_MS ?? 1_000)

/** Entries seen logged, told to the world once each; the calls in flight. */
class Recorder {
  writes = 0
  inFlight = 0
  /** Bumped by a reset: ids of the emptied log may come again. */
  epoch = 0
  onLogged: OnLogged | null = null
  private readonly seen = new Set<string>()

  record(room: string, id: LogId, updates: readonly LoggedUpdate[]): void {
    const key = `${this.epoch} ${room} ${id}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    this.writes++
    if (!this.onLogged) throw new Error('a real log wrote before its world was bound to it')
    this.onLogged(room, updates.map((u) => u.update))
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++
    return work.finally(() => { this.inFlight-- })
  }
}

const trace = (...parts: unknown[]): void => { if (process.env.SIM_DEBUG) console.log(...parts) }

/** One node's view of a real log: every call passes through; what it sees logged is recorded first. */
class RecordingLog implements UpdateLog {
  readonly kind: UpdateLog['kind']
  private readonly inner: UpdateLog
  private readonly recorder: Recorder
  private readonly node: string

  constructor(inner: UpdateLog, recorder: Recorder, node: string) {
    this.kind = inner.kind
    this.inner = inner
    this.recorder = recorder
    this.node = node
  }

  append(room: string, updates: LoggedUpdate[], options?: AppendOptions): Promise<LogId> {
    return this.recorder.track(this.inner.append(room, updates, options).then((id) => {
      trace('APPENDED', this.node, room, id, options?.tag)
      this.recorder.record(room, id, updates)
      return id
    }))
  }

  read(room: string, after: LogId, limit: number): Promise<LogEntry[]> {
    return this.recorder.track(this.inner.read(room, after, limit).then((entries) => {
      trace('READ', this.node, room, after, entries.map((e) => e.id).join(','))
      for (const entry of entries) this.recorder.record(room, entry.id, entry.updates)
      return entries
    }))
  }

  head(room: string): Promise<LogId> {
    return this.recorder.track(this.inner.head(room))
  }

  trim(room: string, upTo: LogId, snapshotBytes?: number): Promise<void> {
    trace('TRIM', this.node, room, upTo)
    return this.recorder.track(this.inner.trim(room, upTo, snapshotBytes))
  }

  deleteRoom(room: string): Promise<void> {
    return this.recorder.track(this.inner.deleteRoom(room))
  }

  size(room: string): Promise<number> {
    return this.recorder.track(this.inner.size(room))
  }

  subscribe(room: string, after: LogId, listener: LogListener): Subscription {
    trace('SUBSCRIBE', this.node, room, after)
    return this.inner.subscribe(room, after, {
      entries: (r, entries) => {
        trace('DELIVER', this.node, r, entries.map((e) => e.id).join(','))
        for (const entry of entries) this.recorder.record(r, entry.id, entry.updates)
        listener.entries(r, entries)
      },
      gap: (r) => {
        trace('GAP', this.node, r)
        listener.gap(r)
      },
    })
  }

  roomsWithEntries(): Promise<string[]> {
    return this.recorder.track(this.inner.roomsWithEntries())
  }

  isUp(): boolean {
    return this.inner.isUp()
  }

  onHealth(listener: HealthListener): () => void {
    return this.inner.onHealth(listener)
  }

  onReset(listener: () => void): () => void {
    return this.inner.onReset(() => {
      trace('RESET HEARD', this.node)
      listener()
    })
  }

  /** The world's log closes the real one. */
  close(): Promise<void> {
    return Promise.resolve()
  }
}

export abstract class RealLog implements WorldLog {
  resets = 0
  protected readonly recorder = new Recorder()
  private nodes: readonly SimNode[] = []
  /** How long the next wait for the I/O may be (IO_MS, or IMPATIENT_MS after one ran out). */
  private patience = IO_MS

  /** A node's real log (the checker reads through the first node's). */
  protected abstract raw(node: string): UpdateLog
  /** Every node's log answers. */
  protected abstract healthy(): boolean
  abstract close(): Promise<void>
  /** The log loses everything it holds, where that can be done soundly (Redis). */
  reset?(): Promise<void>

  /** The world's hook for what is logged (World's `makeLog`). */
  bind(onLogged: OnLogged): this {
    this.recorder.onLogged = onLogged
    return this
  }

  attach(nodes: readonly SimNode[]): void {
    this.nodes = nodes
  }

  get writes(): number {
    return this.recorder.writes
  }

  forNode(node: string): UpdateLog {
    return new RecordingLog(this.raw(node), this.recorder, node)
  }

  /** The nodes' calls into the log not answered yet. */
  waiting(): number {
    return this.recorder.inFlight
  }

  /** Lets the log's I/O run, up to `count` × STEP_MS of real time or until it has all landed. */
  async step(count: number): Promise<void> {
    await unstuck('log I/O', this.io(count * STEP_MS))
  }

  async settle(ms: number): Promise<void> {
    await unstuck('settling', (async () => {
      await realTurn()
      for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(0)
      // Once the I/O did not land in time, the rest of this settle does not wait for it again.
      let landing = true
      for (let left = ms; left > 0; left -= CHUNK_MS) {
        await vi.advanceTimersByTimeAsync(Math.min(CHUNK_MS, left))
        if (left > CHUNK_MS) landing = landing ? await this.patiently() : await this.io(0)
      }
    })())
  }

  /** Nothing to heal but a log still reconnecting: waits (in real time) until every log answers. */
  heal(): Promise<void> {
    return unstuck('healing', (async () => {
      const until = realNow() + HEAL_MS
      while (!this.healthy() && realNow() < until) await realSleep(2)
    })())
  }

  /**
   * Quiet: the I/O landed, reading each room's whole log finds nothing not seen before, and no
   * hot room has writes queued, in flight or owed to the log.
   */
  async quiet(nodes: readonly SimNode[]): Promise<boolean> {
    if (!(await this.patiently())) return false
    const before = this.recorder.writes
    const checker = this.forNode('checker')
    for (const room of Object.values(ROOMS)) await readSince(room, LOG_START, { log: checker, batchSize: 1000 })
    if (this.recorder.writes !== before) return false
    return nodes.every((node) => [...node.collab.registry.all()].every((room) => room.writesInFlight === 0 && !room.holdsUnlogged))
  }

  activity(): string {
    return JSON.stringify({ seen: this.recorder.writes, inFlight: this.recorder.inFlight, resets: this.resets })
  }

  /** What keeps the world from quiescing (for the report of a run that did not). */
  async unquiet(nodes: readonly SimNode[]): Promise<string> {
    const reasons = await this.unlanded()
    for (const node of nodes) {
      for (const room of node.collab.registry.all()) {
        if (room.writesInFlight > 0) reasons.push(`${node.name} ${room.name}: ${room.writesInFlight} writes in flight`)
        if (room.holdsUnlogged) reasons.push(`${node.name} ${room.name}: holds what the log lost, not written again`)
      }
    }
    return reasons.length > 0 ? reasons.join('; ') : 'nothing found in flight'
  }

  /**
   * Waits in real time, fake time following it ms for ms (the embedded log's group commit waits
   * on a timer), until the I/O has landed or `maxMs` passed; whether it landed.
   */
  protected async io(maxMs: number): Promise<boolean> {
    const until = realNow() + maxMs
    for (;;) {
      await realTurn()
      if ((await this.unlanded(true)).length === 0) return true
      if (realNow() >= until) return false
      await realSleep(1)
      await vi.advanceTimersByTimeAsync(1)
    }
  }

  /** `io` for as long as patience lasts: IO_MS, or IMPATIENT_MS while the last such wait ran out. */
  private async patiently(): Promise<boolean> {
    const landed = await this.io(this.patience)
    this.patience = landed ? IO_MS : IMPATIENT_MS
    return landed
  }

  /**
   * Why the I/O has not landed: calls in flight, a log not answering, a hot room that has not
   * read all its log holds (`first`: the first reason found, else all).
   */
  private async unlanded(first = false): Promise<string[]> {
    const reasons: string[] = []
    if (this.recorder.inFlight > 0) reasons.push(`${this.recorder.inFlight} log calls in flight`)
    if (!this.healthy()) reasons.push('a log is not answering')
    if (first && reasons.length > 0) return reasons
    const heads = new Map<string, LogId>()
    for (const node of this.nodes) {
      for (const room of [...node.collab.registry.all()]) {
        let head = heads.get(room.name)
        if (head === undefined) {
          try {
            head = await this.raw(node.name).head(room.name)
          } catch (error) {
            reasons.push(`${node.name} could not read the head of ${room.name}: ${String(error)}`)
            if (first) return reasons
            continue
          }
          heads.set(room.name, head)
        }
        if (compareLogIds(room.watermark, head) < 0) {
          reasons.push(`${node.name} ${room.name} is at ${room.watermark}, its log's head at ${head}`)
          if (first) return reasons
        }
      }
    }
    return reasons
  }
}

/** The embedded log (LevelDB, no fsync) in a temporary directory, under one node. */
export class EmbeddedWorldLog extends RealLog {
  private readonly log: EmbeddedLog
  private readonly dir: string

  private constructor(log: EmbeddedLog, dir: string) {
    super()
    this.log = log
    this.dir = dir
  }

  static async open(): Promise<EmbeddedWorldLog> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-embedded-'))
    return new EmbeddedWorldLog(await EmbeddedLog.open(path.join(dir, 'log'), { fsync: false }), dir)
  }

  protected raw(): UpdateLog {
    return this.log
  }

  protected healthy(): boolean {
    return this.log.isUp()
  }

  async close(): Promise<void> {
    try {
      await unstuck('closing the embedded log', this.log.close())
    } finally {
      await rm(this.dir, { recursive: true, force: true })
    }
  }
}

/** A connection of the test's own to Redis (resets, cleanup), never a node's. */
export interface RedisAdmin {
  multi(): { del(keys: string[]): RedisMulti }
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>
  del(keys: string[]): Promise<unknown>
}
interface RedisMulti {
  addCommand(args: string[]): RedisMulti
  exec(): Promise<unknown>
}

interface Member {
  name: string
  clients: RedisClients
  log: RedisLog
}

/** One RedisLog per node, each with its own connections, over one Redis under `prefix`. */
export class RedisWorldLog extends RealLog {
  readonly prefix: string
  private readonly admin: RedisAdmin
  private readonly members: Member[]

  private constructor(admin: RedisAdmin, prefix: string, members: Member[]) {
    super()
    this.admin = admin
    this.prefix = prefix
    this.members = members
  }

  static async open(admin: RedisAdmin, url: string, prefix: string, nodes: number): Promise<RedisWorldLog> {
    const members: Member[] = []
    try {
      for (let i = 0; i < nodes; i++) {
        const clients = await RedisClients.connect(url, silent, { timeoutMs: REDIS_TIMEOUT_MS, readBlockMs: 500 })
        members.push({ name: `node${i}`, clients, log: new RedisLog(clients, { prefix, minEntryAgeMs: MIN_ENTRY_AGE_MS, logger: silent }) })
      }
      // Each node must know the epoch before anything happens, or it could not tell a reset.
      const until = realNow() + 5_000
      while (!members.every((m) => epochOf(m.log) !== null)) {
        if (realNow() > until) throw new Error('the Redis logs did not learn the epoch')
        await realSleep(2)
      }
    } catch (error) {
      await closeMembers(members)
      throw error
    }
    return new RedisWorldLog(admin, prefix, members)
  }

  protected raw(node: string): UpdateLog {
    return (this.members.find((m) => m.name === node) ?? this.members[0]!).log
  }

  protected healthy(): boolean {
    return this.members.every((m) => m.log.isUp())
  }

  /**
   * Redis restarted empty: in one transaction, every key under the prefix goes (streams, trim
   * thresholds, sizes, the set of rooms, the epoch) and every node's command connection is
   * dropped, as a restart drops them; each node reconnects, finds the epoch gone, and hears of the
   * reset from its log (RedisLog.checkEpoch on 'ready'), as from a real restart. The stream
   * readers keep their connections (they read on in the emptied streams, whose new ids are later
   * than any before: the reconnects take real time). Done only while every node is connected, so
   * no node can reconnect between learning the connections' ids and the transaction.
   */
  override async reset(): Promise<void> {
    if (!this.members.every((m) => m.clients.cmd.isReady)) return
    let ids: number[]
    try {
      ids = await Promise.all(this.members.map((m) => m.clients.cmd.clientId()))
    } catch {
      return // a connection dropped meanwhile: no reset now
    }
    this.resets++
    this.recorder.epoch++
    trace('RESET', ids.join(','))
    let multi = this.admin.multi().del(await this.keys())
    for (const id of ids) multi = multi.addCommand(['CLIENT', 'KILL', 'ID', String(id)])
    await multi.exec()
  }

  async close(): Promise<void> {
    try {
      await closeMembers(this.members)
    } finally {
      const keys = await this.keys()
      if (keys.length > 0) await this.admin.del(keys)
    }
  }

  /** Every key under the prefix: RedisLog's, for the simulated rooms, and any other found there. */
  private async keys(): Promise<string[]> {
    const keys = new Set([`${this.prefix}rooms`, `${this.prefix}epoch`])
    for (const room of Object.values(ROOMS)) for (const kind of ['log', 'size', 'trimmed']) keys.add(`${this.prefix}${kind}:${room}`)
    for await (const batch of this.admin.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 1000 })) for (const key of batch) keys.add(key)
    return [...keys]
  }
}

async function closeMembers(members: Member[]): Promise<void> {
  for (const member of members) {
    await unstuck('closing a Redis log', member.log.close())
    await unstuck('closing Redis connections', member.clients.close())
  }
}

/** The epoch a RedisLog knows (null until its first check answered): read, not changed, by the test. */
function epochOf(log: RedisLog): string | null {
  return (log as unknown as { epoch: string | null }).epoch
}
