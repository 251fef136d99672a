/**
 * Keeps a room's content gate: built from the room's bytes when the room loads (in the doc worker
 * for big documents, so the event loop never walks megabytes, and passed back in small parts), rebuilt when it may hold what the
 * log refused (a failed append), and fed other nodes' entries. Until it is ready, writes wait.
 */
import type { RoomKind } from '../../../shared/rooms.ts'
import type { LogId } from '../../log/log-id.ts'
import type { Logger } from '../../logger.ts'
import { ContentGate, type GateOptions, type TrustedUpdate } from '../content/content-gate.ts'
import { rulesFor, type RuleOptions } from '../content/document-rules.ts'
import type { Duplicate } from '../content/rules.ts'
import type { DocWorker } from '../workers/doc-worker-client.ts'

export interface GateSource {
  pieces: Uint8Array[]
  bindings: ReadonlyMap<number, string>
  /** Updates since the pieces, in order, including any still on their way to the log (without `at`). */
  updates: TrustedUpdate[]
}

export interface GateKeeperDeps {
  kind: RoomKind
  room: string
  worker: DocWorker
  rules: RuleOptions
  options: GateOptions
  source(): GateSource
  /** Documents up to this size are indexed right here (a few milliseconds). */
  inlineBytes: number
  /** Trusted content brought duplicates in (two nodes took one unique key at once): delete them. */
  removeDuplicates(duplicates: Duplicate[]): void
  /** A gate was (re)built: held updates may now be judged. */
  installed(): void
  logger: Logger
}

const RETRY_MS = 1_000

export class GateKeeper {
  private gate: ContentGate | null = null
  private generation = 0
  private queued: TrustedUpdate[] = []
  private queuedBindings: Array<ReadonlyMap<number, string>> = []
  /** This node's writes that reached the log while the gate was being built. */
  private queuedLogged: Array<{ clients: ReadonlyMap<number, readonly [number, number]>; at: LogId }> = []
  private waiters: Array<() => void> = []
  private closed = false
  private retryTimer: NodeJS.Timeout | undefined
  private readonly deps: GateKeeperDeps

  constructor(deps: GateKeeperDeps) {
    this.deps = deps
  }

  /** The gate, or null while it is being built. */
  get current(): ContentGate | null {
    return this.gate
  }

  /** Resolves once a gate is ready (at once if it is). */
  ready(): Promise<void> {
    if (this.gate) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** (Re)builds from the room's bytes; what arrives meanwhile is queued and applied after. */
  build(): void {
    this.gate = null
    this.queued = []
    this.queuedBindings = []
    this.queuedLogged = []
    const generation = ++this.generation
    const source = this.deps.source()
    const bytes = source.pieces.reduce((sum, p) => sum + p.length, 0) + source.updates.reduce((sum, u) => sum + u.update.length, 0)
    if (bytes <= this.deps.inlineBytes) return this.install(generation, this.buildHere(source))
    // Copying megabytes to the worker gets a turn of its own, apart from loading the room.
    setImmediate(() => this.buildInWorker(generation, source).catch((error: unknown) => this.retry(generation, error)))
  }

  /** Content already in the log (other nodes' entries, what a new base adds), and the base's bindings. */
  trust(updates: TrustedUpdate[], bindings?: ReadonlyMap<number, string>): void {
    if (!this.gate) {
      if (bindings) this.queuedBindings.push(bindings)
      return void (this.queued = this.queued.concat(updates))
    }
    if (bindings) for (const [client, user] of bindings) this.gate.index.bind(client, user)
    this.gate.trust(updates)
    this.resolveDuplicates(this.gate)
  }

  /** A write this node accepted reached the log as entry `at` (which may settle who took a unique key first). */
  logged(clients: ReadonlyMap<number, readonly [number, number]>, at: LogId): void {
    if (!this.gate) return void this.queuedLogged.push({ clients, at })
    this.gate.logged(clients, at)
    this.resolveDuplicates(this.gate)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.retryTimer)
    this.generation++
  }

  private buildHere(source: GateSource): ContentGate {
    const gate = new ContentGate(rulesFor(this.deps.kind, this.deps.rules), this.deps.options)
    for (const [client, user] of source.bindings) gate.index.bind(client, user)
    gate.trustSnapshot(source.pieces)
    gate.trust(source.updates)
    return gate
  }

  /** Built in the worker, restored here a part per event-loop turn. */
  private async buildInWorker(generation: number, source: GateSource): Promise<void> {
    if (generation !== this.generation || this.closed) return
    const gate = new ContentGate(rulesFor(this.deps.kind, this.deps.rules), this.deps.options)
    for await (const part of this.deps.worker.buildIndex(this.deps.kind, source.pieces, source.bindings, source.updates, this.deps.rules)) {
      if (generation !== this.generation || this.closed) return // rebuilt or closed meanwhile
      gate.restore(part)
    }
    this.install(generation, gate)
  }

  private install(generation: number, gate: ContentGate): void {
    if (generation !== this.generation || this.closed) return
    for (const bindings of this.queuedBindings) for (const [client, user] of bindings) gate.index.bind(client, user)
    if (this.queued.length > 0) gate.trust(this.queued)
    for (const { clients, at } of this.queuedLogged) gate.logged(clients, at)
    this.queued = []
    this.queuedBindings = []
    this.queuedLogged = []
    this.gate = gate
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve()
    this.resolveDuplicates(gate)
    this.deps.installed()
  }

  private resolveDuplicates(gate: ContentGate): void {
    const duplicates = gate.takeDuplicates()
    if (duplicates.length > 0) this.deps.removeDuplicates(duplicates)
  }

  private retry(generation: number, error: unknown): void {
    if (generation !== this.generation || this.closed) return
    this.deps.logger.error({ err: error, room: this.deps.room }, 'building the content index failed; retrying')
    this.retryTimer = setTimeout(() => this.build(), RETRY_MS)
    this.retryTimer.unref()
  }
}
