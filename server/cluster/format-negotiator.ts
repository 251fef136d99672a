/**
 * This node's view of which formats to send: its own generation, the registry's live entries and
 * the old (generation-1) nodes it has heard. It announces itself in the registry at start and on
 * every heartbeat, lists the others, and sends of each kind the newest version all of them read
 * (wire-format.ts). What it sends changes only here; listeners hear each change.
 *
 * Old nodes publish nothing in the registry, so they are known only by their messages: an
 * unversioned heartbeat or frame from a node with no entry. Until a node has been up long enough
 * to hear every old node's heartbeat (STARTUP_WINDOW_MS: two of their heartbeats) it assumes one
 * may be live and sends what they read; an old node that shows up later is heard within its first
 * heartbeat or message, and the formats drop at once. Going up waits until the last old node has
 * been silent for LEGACY_SILENT_AFTER_MS, or its registry entry expired or was withdrawn.
 *
 * A node set to an older generation (WIRE_FORMAT_CEILING, tests and rollout rehearsals) reads and
 * writes only that generation's formats; at generation 1 it also stays out of the registry, as the
 * releases before it did.
 */
import { BackgroundFailures, BackgroundLoop } from '../background-loop.ts'
import { raceDeadline } from '../deadline.ts'
import type { Logger } from '../logger.ts'
import type { FormatRegistry, RegistryEntry } from './format-registry.ts'
import { generation, LEGACY_GENERATION, negotiate, readsAllOf, WIRE_KINDS, type Generation, type Sending, type WireKind } from './wire-format.ts'

export interface FormatTiming {
  /** How often the entry is renewed and the registry listed. */
  heartbeatMs: number
  /** An entry not renewed this long expires (the node is taken for gone). */
  entryTtlMs: number
  /** An old node not heard this long is taken for gone (old nodes heartbeat every 2 s). */
  legacySilentAfterMs: number
  /** After start, how long to assume an old node may be live before hearing one. */
  startupWindowMs: number
}

/** Node ids as shared/ids.ts makes them (and tests choose); anything else is not a node. */
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/
/** More old nodes than any deployment runs at once. */
const MAX_LEGACY_NODES = 1_000
/** Longest a closing node tries to leave the registry. */
const LEAVE_WITHIN_MS = 1_000

export const DEFAULT_FORMAT_TIMING: FormatTiming = { heartbeatMs: 2_000, entryTtlMs: 7_000, legacySilentAfterMs: 7_000, startupWindowMs: 4_000 }

/** Why a message from another node was dropped. */
export type DropReason = 'unknown_version' | 'malformed'

export interface FormatStatus {
  generation: number
  sending: Sending
  /** Other live nodes, by id, with their generation (1: a release before the registry). */
  nodes: Array<{ node: string; generation: number }>
  /** Live nodes that read less than this node would send alone: they hold the formats back. */
  oldNodes: string[]
}

export interface FormatNegotiatorOptions {
  nodeId: string
  /** This node's generation (CURRENT_GENERATION unless WIRE_FORMAT_CEILING says older). */
  generation: number
  /** null: no other nodes (one node), or a generation-1 node (which has no registry). */
  registry: FormatRegistry | null
  logger: Logger
  failures?: BackgroundFailures
  timing?: Partial<FormatTiming>
  now?: () => number
}

export class FormatNegotiator {
  readonly own: Generation
  private readonly nodeId: string
  private readonly registry: FormatRegistry | null
  private readonly logger: Logger
  private readonly timing: FormatTiming
  private readonly now: () => number
  private readonly loop: BackgroundLoop | null
  private readonly listeners = new Set<(sending: Sending) => void>()
  private readonly dropCounts = new Map<string, number>()
  /** Old nodes heard, and when last. */
  private readonly legacy = new Map<string, number>()
  /** Nodes heard without a version that the last listing did not know, and when: judged at the next. */
  private readonly suspects = new Map<string, number>()
  private entries: RegistryEntry[] = []
  private current: Sending
  private startedAt: number
  private unwatch: (() => Promise<void>) | null = null

  constructor(options: FormatNegotiatorOptions) {
    this.own = generation(options.generation)
    this.nodeId = options.nodeId
    this.registry = this.own.generation > LEGACY_GENERATION ? options.registry : null
    this.logger = options.logger
    this.timing = { ...DEFAULT_FORMAT_TIMING, ...options.timing }
    this.now = options.now ?? Date.now
    this.startedAt = this.now()
    this.current = this.compute()
    this.loop = this.registry
      ? new BackgroundLoop(() => this.heartbeat(), { name: 'format-registry', everyMs: this.timing.heartbeatMs, logger: this.logger, failures: options.failures ?? new BackgroundFailures() })
      : null
  }

  /** Joins the registry (awaited: others learn of this node before it sends anything), then keeps its entry alive. */
  async start(): Promise<void> {
    this.startedAt = this.now()
    if (!this.registry || !this.loop) return
    try {
      this.unwatch = await this.registry.watch(() => void this.loop?.runNow())
      await this.registry.announce(this.nodeId, this.own.generation, true)
      await this.refresh()
      this.logger.info({ generation: this.own.generation, sending: this.current, nodes: this.status().nodes }, 'joined the format registry')
    } catch (error) {
      this.logger.warn({ err: error }, 'could not join the format registry yet; retrying every heartbeat (meanwhile the others take this node for an old one when they hear it)')
    }
    this.loop.start()
  }

  /**
   * Redis came back after this node lost it: it heard no old node's heartbeat meanwhile, so it
   * assumes again, for the startup window, that one may be live, and announces itself at once.
   */
  rejoin(): void {
    if (!this.registry) return
    this.startedAt = this.now()
    this.update('reconnected to Redis: an old node may be live unheard')
    void this.loop?.runNow()
  }

  /**
   * Leaves the registry, so the others need not wait for the entry to expire; never holds a
   * shutdown up for long (a silent Redis): the entry expires by itself.
   */
  async close(): Promise<void> {
    await this.loop?.stop()
    if (!this.registry) return
    const leaving = Promise.all([this.unwatch?.(), this.registry.withdraw(this.nodeId)])
    await raceDeadline(leaving, LEAVE_WITHIN_MS, () => new Error(`no answer from Redis within ${LEAVE_WITHIN_MS} ms`))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not leave the format registry; the entry expires by itself'))
  }

  /** The version of `kind` to send now. */
  sending(kind: WireKind): number {
    return this.current[kind]
  }

  reads(kind: WireKind, version: number): boolean {
    return this.own.reads[kind].includes(version)
  }

  /** Calls `listener` after each change of what is sent. */
  onChange(listener: (sending: Sending) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * A message from `node` without a version (what generation 1 sends): an old node, unless the
   * registry knows it. A node of this release speaks the old formats in its first seconds and may
   * have joined after the last listing, so a node not known yet is believed old only once a listing
   * made after hearing it still lacks it (one is started at once).
   */
  heardUnversioned(node: string): void {
    if (node === this.nodeId || !NODE_ID.test(node) || this.entries.some((entry) => entry.node === node)) return
    if (this.legacy.has(node)) {
      this.legacy.set(node, this.now())
      return
    }
    if (this.legacy.size + this.suspects.size >= MAX_LEGACY_NODES) return // junk from a publisher, not a deployment
    const first = !this.suspects.has(node)
    this.suspects.set(node, this.now())
    if (first) void this.loop?.runNow()
  }

  /** Counts a message dropped because this node cannot read it (`collab_wire_dropped_total`). */
  dropped(kind: WireKind, reason: DropReason): void {
    const key = `${kind}:${reason}`
    this.dropCounts.set(key, (this.dropCounts.get(key) ?? 0) + 1)
  }

  drops(): Array<{ kind: WireKind; reason: DropReason; count: number }> {
    return [...this.dropCounts].map(([key, count]) => {
      const [kind, reason] = key.split(':') as [WireKind, DropReason]
      return { kind, reason, count }
    })
  }

  status(): FormatStatus {
    const nodes = [
      ...this.entries.filter((entry) => entry.node !== this.nodeId).map(({ node, generation }) => ({ node, generation })),
      ...[...this.legacy.keys()].map((node) => ({ node, generation: LEGACY_GENERATION })),
    ]
    const oldNodes = [
      ...this.entries.filter((entry) => entry.node !== this.nodeId && !readsAllOf(entry.reads, this.own)).map((entry) => entry.node),
      ...this.legacy.keys(),
    ]
    return { generation: this.own.generation, sending: this.current, nodes, oldNodes }
  }

  private async heartbeat(): Promise<void> {
    if (!this.registry) return
    await this.registry.announce(this.nodeId, this.own.generation)
    await this.refresh()
  }

  private async refresh(): Promise<void> {
    if (!this.registry) return
    const listedAt = this.now()
    this.entries = await this.registry.list()
    for (const entry of this.entries) {
      this.legacy.delete(entry.node) // it was a node of this release in its first seconds
      this.suspects.delete(entry.node)
    }
    this.confirmSuspects(listedAt)
    this.update('the registry changed')
    // Heard while this listing ran: list again right after it rather than at the next heartbeat.
    if (this.suspects.size > 0) setTimeout(() => void this.loop?.runNow(), 0).unref()
  }

  /** Nodes heard without a version before a listing that lacks them: old nodes. */
  private confirmSuspects(listedAt: number): void {
    for (const [node, heardAt] of this.suspects) {
      // Heard while listing, or in the millisecond it began (its read may predate the node's
      // entry): the next listing judges it.
      if (heardAt >= listedAt) continue
      this.suspects.delete(node)
      this.legacy.set(node, heardAt)
      this.logger.info({ node }, 'an old node is live (it speaks without versions and has no registry entry); sending the formats it reads until it leaves')
    }
  }

  private forgetSilentLegacy(): void {
    const horizon = this.now() - this.timing.legacySilentAfterMs
    for (const [node, at] of this.legacy) if (at < horizon) this.legacy.delete(node)
  }

  private compute(): Sending {
    if (!this.registry) return negotiate(this.own, []) // alone, or an old node that writes only its own
    this.forgetSilentLegacy()
    const legacyReads = generation(LEGACY_GENERATION).reads
    const starting = this.now() - this.startedAt < this.timing.startupWindowMs
    const peers = [
      ...this.entries.filter((entry) => entry.node !== this.nodeId).map((entry) => entry.reads),
      ...(this.legacy.size > 0 || starting ? [legacyReads] : []),
    ]
    return negotiate(this.own, peers)
  }

  private update(why: string): void {
    const next = this.compute()
    if (WIRE_KINDS.every((kind) => next[kind] === this.current[kind])) return
    const before = this.current
    this.current = next
    const { oldNodes } = this.status()
    this.logger.info({ sending: next, before, oldNodes, why }, oldNodes.length > 0 ? 'wire formats changed; old nodes are live' : 'wire formats changed')
    for (const listener of this.listeners) listener(next)
  }
}
