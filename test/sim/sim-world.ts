/**
 * A simulated cluster: 1-3 nodes, each the real collaboration core (registry, rooms, intake,
 * compactor, CollabServer) wired as production wires it, over one simulated log (sim-log.ts) whose
 * every race fast-check's scheduler decides, with members' stock-protocol clients (sim-client.ts)
 * that edit a canvas and a chat, go offline and come back. Time is vitest's fake clock, so a run
 * is a function of its seed.
 *
 * The log is an adapter (`WorldLog`): SimLog by default; real-logs.ts puts the nodes over the real
 * embedded or Redis log instead, with the same invariants (its runs are not deterministic: the
 * log's I/O is real).
 *
 * `check()` states what must hold once everything has quieted down; `watch()` what must hold
 * after every step. Both throw on the first violation, naming it.
 */
import * as Y from 'yjs'
import { vi } from 'vitest'
import pino from 'pino'
import type { Scheduler } from 'fast-check'
import { addStroke, appendPoints, eraseStroke, readStrokes, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage, readAllMessages } from '../../shared/chat.ts'
import { testConfig, type Config } from '../../server/config.ts'
import { createCollab, type CollabCore } from '../../server/collab/index.ts'
import { DocWorker } from '../../server/collab/workers/doc-worker-client.ts'
import { Folder } from '../../server/collab/compaction/folder.ts'
import type { Slicer } from '../../server/collab/turn-slicer.ts'
import { DocWork } from '../../server/collab/workers/doc-worker.ts'
import { FoldWork } from '../../server/collab/workers/fold-worker.ts'
import type { Room } from '../../server/collab/room/room.ts'
import { loadRoom } from '../../server/collab/room/room-loader.ts'
import { compareLogIds, type LogId } from '../../server/log/log-id.ts'
import type { Authorizer } from '../../server/collab/authorizer.ts'
import type { Role } from '../../server/collab/principal.ts'
import type { EditStore, GroupStore, VersionStore } from '../../server/storage/types.ts'
import type { LogEntry, UpdateLog } from '../../server/log/types.ts'
import { SimClient, deletedKeys, structKeys } from './sim-client.ts'
import { SimLog, type AppendFault } from './sim-log.ts'
import { MemoryHistory, MemorySnapshots, SimLease } from './sim-stores.ts'
import type { WorkerLike } from '../../server/collab/workers/worker-channel.ts'

let worlds = 0
export const GROUP = 'sim-group1'
export const ROOMS = { canvas: `${GROUP}/canvas`, chat: `${GROUP}/chat` } as const
const silent = pino({ level: 'silent' })

export interface WorldOptions {
  nodes: number
  /** Users; each has a canvas client and a chat client. */
  users: number
  /** Compact a room after this many foldable updates. */
  everyUpdates: number
}

export interface SimNode {
  name: string
  collab: CollabCore
}

/** Told of every entry as it enters the log (SimLog), or as it is first seen logged (a real log). */
export type OnLogged = (room: string, updates: Uint8Array[]) => void

/**
 * What the world runs over: the log its nodes share, and the pace of the world (what `step`,
 * `settle` and quiescence mean over it). SimLog is one; real-logs.ts has the real logs.
 */
export interface WorldLog {
  /** Entries logged so far (a clock for "logged before / after"). */
  readonly writes: number
  /** How many times the log lost everything. */
  readonly resets: number
  /** Appends the log took whose writer was told they failed (SimLog only). */
  readonly unanswered?: number
  /** One node's view of the log. */
  forNode(node: string): UpdateLog
  /** Work held back: SimLog's scheduled tasks; a real log's calls in flight. */
  waiting(): number
  /** Lets up to `count` of them go (a real log: lets its I/O run a while). */
  step(count: number): Promise<void>
  /** Lets promises run, and timers due within `ms` of fake time. */
  settle(ms: number): Promise<void>
  /** Before quiescing: every fault healed (a real log may wait until it answers again). */
  heal(nodes: string[]): void | Promise<void>
  /** At quiescence, beyond `waiting() === 0`: nothing left in flight (a real log checks its rooms caught up). */
  quiet?(nodes: readonly SimNode[]): Promise<boolean>
  /** What the log did so far (for traces). */
  activity(): string
  /** Faults, where the log has them. */
  cut?(node: string, cut: boolean): void
  failNextAppend?(node: string, fault: AppendFault): void
  setUp?(up: boolean): void
  reset?(): void | Promise<void>
  /** What the log holds for a room (SIM_DEBUG). */
  roomEntries?(room: string): LogEntry[]
  /** Where long loops give the event loop back, when the log's scheduler decides races (absent: as in production). */
  slicer?: () => Slicer
  /** Releases what the log holds open (connections, files). */
  close?(): Promise<void>
  /** The world's nodes, once made (a real log looks at their rooms to tell when its I/O landed). */
  attach?(nodes: readonly SimNode[]): void
}

/** The worker threads' request handlers, run in-process (a microtask per call, like a message). */
function inline<Request>(work: { handle(request: Request): { value: unknown } }): WorkerLike<Request> {
  return {
    call: <T>(request: Request): Promise<T> => Promise.resolve().then(() => work.handle(request).value as T),
    onRestart: () => () => {},
    close: () => Promise.resolve(),
  }
}

export class World<L extends WorldLog = SimLog> {
  readonly log: L
  readonly snapshots = new MemorySnapshots()
  readonly lease = new SimLease()
  readonly history = new MemoryHistory()
  readonly nodes: SimNode[] = []
  readonly clients: SimClient[] = []
  /** When each struct / deleted clock first entered the log, in log writes. */
  private readonly firstLogged = new Map<string, { at: number; deleted: boolean }>()
  private readonly reference = { canvas: new Y.Doc(), chat: new Y.Doc() }
  private readonly seen = new WeakMap<Room, { position: LogId; base: LogId }>()
  private readonly openedAt = new Map<SimClient, number>()
  private edits = 0

  /** Over SimLog (driven by the scheduler `s`), or over the log `makeLog` returns. */
  constructor(s: Scheduler | null, options: WorldOptions, makeLog?: (onLogged: OnLogged) => L) {
    if (process.env.SIM_DEBUG || process.env.SIM_TRACE) console.log('=== WORLD', ++worlds)
    const onLogged: OnLogged = (room, updates) => this.logged(room, updates)
    this.log = makeLog ? makeLog(onLogged) : new SimLog(s!, onLogged) as unknown as L
    const config = simConfig(options)
    for (let i = 0; i < options.nodes; i++) this.nodes.push(this.node(`node${i}`, config))
    this.log.attach?.(this.nodes)
    for (let u = 0; u < options.users; u++) {
      this.clients.push(new SimClient(`user${u}`, ROOMS.canvas, 1000 + 2 * u))
      this.clients.push(new SimClient(`user${u}`, ROOMS.chat, 1001 + 2 * u))
    }
  }

  private node(name: string, config: Config): SimNode {
    const authorizer: Authorizer = { authorize: async (_ref, token) => ({ ok: true, principal: { userId: token ?? '', name: token ?? '', role: roleOf(token) } }) }
    const collab = createCollab({
      config,
      logger: silent,
      storage: { snapshots: this.snapshots, groups: unused<GroupStore>('groups', { byId: async () => ({ id: GROUP, name: GROUP, description: '', ownerId: 'user0', createdAt: 0 }) }), versions: unused<VersionStore>('versions'), edits: unused<EditStore>('edits') },
      log: this.log.forNode(name),
      authorizer,
      lease: this.lease.forNode(name),
      nodeId: name,
      parts: {
        worker: new DocWorker(inline(new DocWork())),
        folder: new Folder(inline(new FoldWork())),
        history: this.history,
        // A cold fold gives the loop back after every update, when the scheduler says so.
        slicer: this.log.slicer,
      },
    })
    return { name, collab }
  }

  // --- steps -------------------------------------------------------------------------------------

  /** Lets promises run, and timers due within `ms` of fake time. */
  settle(ms = 20): Promise<void> {
    return this.log.settle(ms)
  }

  /** A node that died holding them keeps the rooms' compaction leases (until released). */
  takeLease(node: number, take: boolean): void {
    for (const room of Object.values(ROOMS)) {
      if (take) this.lease.take(room, `ghost${node}`)
      else this.lease.release(room, `ghost${node}`)
    }
  }

  /** Starts connecting (admission may wait on a room leaving memory, which waits on the log). */
  connect(client: SimClient, node: number): void {
    if (client.connected || client.connecting) return
    this.openedAt.set(client, this.log.writes)
    void client.connect(this.nodes[node]!.name, this.nodes[node]!.collab.server)
  }

  edit(client: SimClient, choice: number): void {
    this.edits++
    if (client.room === ROOMS.canvas) editCanvas(client, choice, this.edits)
    else editChat(client, choice, this.edits)
  }

  async compact(node: number): Promise<void> {
    const room = this.hotRoom(node, ROOMS.canvas) ?? this.hotRoom(node, ROOMS.chat)
    if (room) void this.nodes[node]!.collab.compactor.compactHot(room).catch(() => undefined)
  }

  async sweep(node: number): Promise<void> {
    const { registry, compactor } = this.nodes[node]!.collab
    void compactor.sweep((room) => registry.isHot(room))
  }

  cut(node: number, cut: boolean): void {
    this.log.cut?.(this.nodes[node]!.name, cut)
  }

  /** The next snapshot save, by whichever node, fails (edit records stored before it stay). */
  failNextSave(): void {
    this.snapshots.failNextSave()
  }

  failNextAppend(node: number, fault: AppendFault): void {
    this.log.failNextAppend?.(this.nodes[node]!.name, fault)
  }

  hotRoom(node: number, room: string): Room | undefined {
    return this.nodes[node]!.collab.registry.get(room)
  }

  /** Releases up to `count` of the scheduler's waiting tasks (appends landing, answers, reads); a real log's I/O runs a while. */
  step(count: number): Promise<void> {
    return this.log.step(count)
  }

  // --- what must hold ----------------------------------------------------------------------------

  /** After every step: positions and base watermarks never go backwards; nothing unlogged was delivered. */
  watch(): void {
    for (const node of this.nodes) {
      for (const room of node.collab.registry.all()) {
        const now = { position: room.watermark, base: room.bytes.baseWatermark }
        const before = this.seen.get(room)
        if (before && (compareLogIds(now.position, before.position) < 0 || compareLogIds(now.base, before.base) < 0)) {
          throw new Error(`${node.name} ${room.name}: went backwards from ${JSON.stringify(before)} to ${JSON.stringify(now)}`)
        }
        this.seen.set(room, now)
      }
    }
    for (const client of this.clients) {
      const current = client.current
      for (const [keys, deleted] of current ? [[current.structs, false], [current.deleted, true]] as const : []) {
        for (const key of keys.keys()) {
          if (this.firstLogged.has(`${client.room} ${key}${deleted ? ' deleted' : ''}`)) continue
          // Content written into something deleted is deleted as it arrives (Yjs): a snapshot says so.
          if (deleted && this.deletedInReference(client.room, key)) continue
          throw new Error(`${client.name}: received ${key}${deleted ? ' (deleted)' : ''} before it was logged`)
        }
      }
    }
  }

  /** Heals every fault, connects everyone, and lets everything run until nothing is left to do. */
  async quiesce(): Promise<void> {
    const healing = this.log.heal(this.nodes.map((n) => n.name))
    if (healing) await healing
    this.snapshots.heal()
    this.lease.releaseAll()
    for (let round = 0; round < 80; round++) {
      for (const [i, client] of this.clients.entries()) if (!client.connected) this.connect(client, i % this.nodes.length)
      await this.settle(5)
      if (this.log.waiting() > 0) {
        await this.step(50)
        continue
      }
      await this.settle(1_500) // retries, expiries, backoffs
      if (this.log.waiting() === 0 && this.clients.every((c) => c.connected) && (!this.log.quiet || await this.log.quiet(this.nodes))) return
      if (process.env.SIM_TRACE && round % 20 === 19) console.log('QUIESCE', round, this.log.waiting(), this.log.writes, this.log.activity(), vi.getTimerCount(), this.clients.map((c) => (c.connected ? 1 : 0)).join(''))
    }
    throw new Error('did not quiesce')
  }

  /** Shuts the nodes down as a server does (sockets, rooms with their final compactions), then the log. */
  async close(): Promise<void> {
    for (const client of this.clients) client.disconnect()
    for (const node of this.nodes) {
      await node.collab.registry.evictAll()
      node.collab.history.close()
    }
    await this.log.close?.()
  }

  /** Once quiet: everyone holds exactly what was accepted, each socket got each change once, and storage agrees. */
  async check(): Promise<void> {
    if (process.env.SIM_DEBUG) this.dump()
    for (const client of this.clients) this.checkClient(client)
    for (const node of this.nodes) for (const room of node.collab.registry.all()) this.checkRoom(node, room)
    for (const room of Object.values(ROOMS)) await this.checkDurable(room)
    this.checkHistory()
    await this.checkCompaction()
  }

  /**
   * Compaction makes progress, not only no harm: each hot room folded now (leases free, log up)
   * leaves nothing foldable, a stored snapshot covering every update it kept, storage + log still
   * equal to the reference, and no struct clock credited twice in history (after a loss, never to
   * two users).
   */
  private async checkCompaction(): Promise<void> {
    const lastKept = (room: Room): LogId => room.bytes.contents().since.map((a) => a.id).filter((id) => compareLogIds(id, room.watermark) <= 0).reduce((a, b) => (compareLogIds(a, b) >= 0 ? a : b), '0-0')
    const hot = this.nodes.flatMap((node) => [...node.collab.registry.all()].map((room) => ({ node, room })))
    // A node that meets another's lease leaves the room to it and tries again later: a few rounds.
    for (let round = 0; round < 5 && hot.some(({ room }) => room.foldable > 0); round++) {
      for (const { node, room } of hot) if (room.foldable > 0) await this.run(`compacting ${room.name} on ${node.name}`, node.collab.compactor.compactHot(room))
      await this.settle(100)
    }
    for (const { node, room } of hot) {
      if (room.foldable !== 0) throw new Error(`${node.name} ${room.name}: ${room.foldable} updates still foldable after compactions`)
      const kept = lastKept(room) // what a compaction's base absorbed is no longer kept
      const stored = (await this.snapshots.watermark(room.name)) ?? '0-0'
      if (compareLogIds(stored, kept) < 0) throw new Error(`${node.name} ${room.name}: kept updates up to ${kept}, the stored snapshot covers ${stored}`)
    }
    for (const room of Object.values(ROOMS)) await this.checkDurable(room)
    // Once: a fold whose snapshot failed to save marks how far it recorded, and no fold after it
    // records that again. After the log lost entries (a reset), or an append it took was answered
    // as failed (the writer's node writes again what it had read of it: a failover may drop it),
    // content written again that no mark can place may be recorded again, to the same user only
    // (readers merge records: harmless).
    const credited = new Map<string, string>()
    for (const record of this.history.records) {
      for (const [client, first, end] of record.created) {
        for (let clock = first; clock < end; clock++) {
          const key = `${record.room} ${client}:${clock}`
          const before = credited.get(key)
          if (before !== undefined && ((this.log.resets === 0 && !this.log.unanswered) || before !== record.user)) throw new Error(`history credits ${key} twice (${before}, ${record.user})`)
          credited.set(key, record.user)
        }
      }
    }
  }

  /** Runs `work` to its end, letting the log's scheduled tasks and timers run meanwhile. */
  private async run(label: string, work: Promise<unknown>): Promise<void> {
    let done = false
    const finished = work.then(() => { done = true }, (error: unknown) => { done = true; throw error })
    for (let round = 0; !done && round < 200; round++) {
      await this.settle(5)
      if (!done) await this.step(20)
    }
    if (!done) throw new Error(`stuck: ${label}`)
    await finished
  }

  private checkClient(client: SimClient): void {
    const reference = this.referenceOf(client.room)
    if (client.closes.length > 0) throw new Error(`${client.name} ${client.room}: closed by the server ${JSON.stringify(client.closes)}`)
    // Only after the log lost content may a client pass on others' content or deletions the
    // server cannot attribute any more: they are declined (their authors' clients bring them back).
    const denied = this.log.resets > 0 ? [] : client.denied
    if (denied.length > 0) throw new Error(`${client.name} ${client.room}: refused ${JSON.stringify(denied)}`)
    expectSameDoc(client.doc, reference, `${client.name} ${client.room}`)
    for (const [index, socket] of client.sockets.entries()) {
      for (const [key, times] of [...socket.structs, ...socket.deleted]) {
        if (times > 1) throw new Error(`${client.name} ${client.room}: socket ${index} received ${key} ${times} times`)
      }
    }
    // Everything logged since its socket opened reached it (its own writes too: the echo).
    const opened = this.openedAt.get(client) ?? 0
    const current = client.current!
    for (const [key, { at, deleted }] of this.firstLogged) {
      const [room, id] = key.split(' ') as [string, string]
      if (room !== client.room || at <= opened || client.heldAtOpen(id, deleted)) continue
      if (!(deleted ? current.deleted : current.structs).has(id)) throw new Error(`${client.name} ${client.room}: never received ${id}${deleted ? ' (deleted)' : ''}, logged after its socket opened`)
    }
  }

  /** A hot room holds the reference, each struct once, and counts what it holds. */
  private checkRoom(node: SimNode, room: Room): void {
    const { pieces, since } = room.bytes.contents()
    const doc = new Y.Doc()
    for (const update of [...pieces, ...since.map((a) => a.update)]) Y.applyUpdate(doc, update)
    expectSameDoc(doc, this.referenceOf(room.name), `${node.name} ${room.name} (held)`)
    const counted = new Map<string, number>()
    for (const accepted of since) for (const key of structKeys(accepted.update)) counted.set(key, (counted.get(key) ?? 0) + 1)
    for (const [key, times] of counted) if (times > 1) throw new Error(`${node.name} ${room.name}: keeps ${key} ${times} times`)
    const held = pieces.reduce((sum, p) => sum + p.length, 0) + since.reduce((sum, a) => sum + a.update.length, 0)
    if (held !== room.bytes.bytes) throw new Error(`${node.name} ${room.name}: counts ${room.bytes.bytes} bytes, holds ${held}`)
  }

  /** Snapshot + log, as a fresh load reads them, hold the reference. */
  private async checkDurable(room: string): Promise<void> {
    const node = this.nodes[0]!
    const loaded = await loadRoom(room, { snapshots: this.snapshots, log: this.log.forNode('checker'), worker: node.collab.worker, batchSize: 1000, logger: silent })
    if (process.env.SIM_DEBUG) console.log('DURABLE', room, loaded.entries.length, this.log.roomEntries?.(room).length, JSON.stringify(loaded.entries.map((e) => e.updates.map((u) => [u.writer, [...u.update], JSON.stringify(Y.decodeUpdate(u.update))]))))
    const doc = new Y.Doc()
    for (const update of [...loaded.base.pieces, ...loaded.entries.flatMap((e) => e.updates.map((u) => u.update))]) Y.applyUpdate(doc, update)
    if (process.env.SIM_DEBUG) console.log('DURABLE-DS', room, JSON.stringify(deletedKeys(Y.encodeStateAsUpdate(doc))), 'reference', JSON.stringify(deletedKeys(Y.encodeStateAsUpdate(this.referenceOf(room)))))
    expectSameDoc(doc, this.referenceOf(room), `${room} (stored + log)`)
  }

  /** Nobody is credited with structs under another user's client ids, nor with deletions they never made. */
  private checkHistory(): void {
    for (const record of this.history.records) {
      const mine = this.clients.filter((c) => c.userId === record.user)
      for (const [client] of record.created) {
        if (!mine.some((c) => c.doc.clientID === client)) throw new Error(`history credits ${record.user} with structs of client ${client}`)
      }
      // After the log lost entries, a deletion a client passes on is credited to that client: who
      // made it first is known to no one any more.
      if (this.log.resets > 0) continue
      for (const key of deletedKeys(record.deleted)) {
        if (mine.some((c) => c.ownDeleted.has(key)) || this.insideDeleted(record.room, key)) continue
        if (process.env.SIM_DEBUG) this.describe(record.room, key)
        throw new Error(`history credits ${record.user} with deleting ${key}`)
      }
    }
  }

  /** Who is where and what each holds (SIM_DEBUG=1). */
  private dump(): void {
    for (const client of this.clients) console.log('CLIENT', client.name, client.node, JSON.stringify(client.denied), JSON.stringify(client.closes), client.sockets.length, JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(client.doc))]), client.current ? client.current.structs.size : -1)
    for (const node of this.nodes) {
      for (const room of node.collab.registry.all()) {
        const { pieces, since } = room.bytes.contents()
        console.log('ROOM', node.name, room.name, 'base', room.bytes.baseWatermark, 'pos', room.watermark, 'pieces', pieces.length, 'since', since.map((a) => a.id).join(','), 'parked', room.bytes.parkedUpdates.length, 'sv', JSON.stringify([...room.bytes.vectorMap]), 'conns', room.conns.size)
      }
    }
  }

  /** What a run did (SIM_STATS=1 prints it per run). */
  stats(): Record<string, number> {
    return {
      nodes: this.nodes.length,
      logged: this.log.writes,
      sockets: this.clients.reduce((sum, c) => sum + c.sockets.length, 0),
      strokes: readStrokes(this.reference.canvas).length,
      messages: readAllMessages(this.reference.chat).length,
      snapshots: this.history.records.length,
    }
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  private logged(room: string, updates: Uint8Array[]): void {
    const reference = this.referenceOf(room)
    for (const update of updates) {
      Y.applyUpdate(reference, update)
      for (const [keys, deleted] of [[structKeys(update), false], [deletedKeys(update), true]] as const) {
        for (const key of keys) {
          const full = `${room} ${key}${deleted ? ' deleted' : ''}`
          if (!this.firstLogged.has(full)) this.firstLogged.set(full, { at: this.log.writes, deleted })
        }
      }
    }
  }

  /**
   * Content written into something deleted (points appended to a stroke another erased meanwhile)
   * is deleted as it arrives; the writer's client then sends that deletion like any other.
   */
  private insideDeleted(room: string, key: string): boolean {
    const [client, clock] = key.split(':').map(Number) as [number, number]
    const doc = this.referenceOf(room)
    if (clock >= Y.getState(doc.store, client)) return false
    const struct = Y.getItem(doc.store, Y.createID(client, clock))
    if (struct instanceof Y.GC) return true // collected: deleted with what held it
    for (let parent = struct instanceof Y.Item ? (struct.parent as Y.AbstractType<unknown>)._item : null; parent; parent = (parent.parent as Y.AbstractType<unknown>)._item) {
      if (parent.deleted) return true
    }
    return false
  }

  private describe(room: string, key: string): void {
    const [client, clock] = key.split(':').map(Number) as [number, number]
    const struct = Y.getItem(this.referenceOf(room).store, Y.createID(client, clock))
    if (!(struct instanceof Y.Item)) return console.log('DESCRIBE', key, 'not an item')
    const parent = (struct.parent as Y.AbstractType<unknown>)._item
    console.log('DESCRIBE', key, struct.id, struct.length, struct.deleted, struct.content.constructor.name, struct.parentSub, 'parent', parent?.id, parent?.deleted, 'clients', this.clients.map((c) => `${c.name}:${[...c.ownDeleted].filter((k) => k.startsWith(String(client))).join(',')}`).join(' '))
  }

  private deletedInReference(room: string, key: string): boolean {
    const [client, clock] = key.split(':').map(Number) as [number, number]
    return Y.isDeleted(Y.snapshot(this.referenceOf(room)).ds, Y.createID(client, clock))
  }

  private referenceOf(room: string): Y.Doc {
    return room === ROOMS.canvas ? this.reference.canvas : this.reference.chat
  }
}

function roleOf(_token: string | undefined): Role {
  return 'editor'
}

function simConfig(options: WorldOptions): Config {
  return testConfig({ compactEveryUpdates: options.everyUpdates, compactIdleMs: 600_000, roomGraceMs: 10, compactBatchEntries: 4 })
}

/** A store the simulated core must not touch beyond `used`. */
function unused<T extends object>(name: string, used: Partial<T> = {}): T {
  return new Proxy(used, { get: (target, key) => (key in target ? target[key as keyof typeof target] : () => { throw new Error(`the simulation has no ${name}.${String(key)}`) }) }) as T
}

function editCanvas(client: SimClient, choice: number, n: number): void {
  const doc = client.doc
  const mine = strokesOf(doc).toArray().filter((s) => s.get('author') === client.userId)
  const all = readStrokes(doc)
  switch (choice % 4) {
    case 0:
      addStroke(doc, { id: `s${client.doc.clientID}x${n}`, author: client.userId, color: '#123456', width: 2, tool: 'pen', points: [[n, n]] })
      return
    case 1:
      if (mine.length > 0) appendPoints(mine[n % mine.length]!, [[n, n + 1]])
      return
    case 2:
      if (all.length > 0) eraseStroke(doc, all[n % all.length]!.id)
      return
    default:
      if (mine.length > 0) for (let i = 0; i < 3; i++) appendPoints(mine.at(-1)!, [[i, n]])
  }
}

function editChat(client: SimClient, choice: number, n: number): void {
  const doc = client.doc
  if (choice % 3 !== 2) {
    postMessage(doc, { id: `m${client.doc.clientID}x${n}`, author: client.userId, authorName: client.userId, text: `hello ${n}`, time: Date.now() })
    return
  }
  const messages = messagesOf(doc)
  const index = readAllMessages(doc).findIndex((m) => m.author === client.userId)
  if (index >= 0) messages.delete(index, 1)
}

function expectSameDoc(actual: Y.Doc, expected: Y.Doc, label: string): void {
  const a = Y.encodeStateVector(actual)
  const e = Y.encodeStateVector(expected)
  if (Buffer.compare(Buffer.from(a), Buffer.from(e)) !== 0) throw new Error(`${label}: state vector ${JSON.stringify([...Y.decodeStateVector(a)])} differs from what was accepted ${JSON.stringify([...Y.decodeStateVector(e)])}`)
  if (!Y.equalSnapshots(Y.snapshot(actual), Y.snapshot(expected))) {
    const [got, want] = [new Set(deletedKeys(Y.encodeStateAsUpdate(actual))), new Set(deletedKeys(Y.encodeStateAsUpdate(expected)))]
    throw new Error(`${label}: deletions differ from what was accepted: extra ${JSON.stringify([...got].filter((k) => !want.has(k)))}, missing ${JSON.stringify([...want].filter((k) => !got.has(k)))}`)
  }
  const [got, want] = [contentOf(actual), contentOf(expected)]
  if (got !== want) throw new Error(`${label}: content differs from what was accepted:\n  holds ${got}\n  accepted ${want}`)
}

function contentOf(doc: Y.Doc): string {
  return JSON.stringify({ strokes: readStrokes(doc), messages: readAllMessages(doc) })
}
