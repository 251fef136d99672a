/**
 * Prometheus metrics (prom-client), one registry per server instance. Counters and histograms
 * are fed by the collaboration core through the CollabObserver interface; gauges are read from
 * live state when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FormatNegotiator } from '../cluster/format-negotiator.ts'
import type { CollabObserver } from '../collab/observer.ts'
import type { Room } from '../collab/room/room.ts'

export interface MetricSources {
  connections(): number
  rooms(): Iterable<Room>
  logUp(): boolean
  storageUp(): boolean
  /** Failures of background work (sweeps, probes, retries) so far, by loop name. */
  backgroundFailures(): Iterable<[string, number]>
  /** JS heap in use per thread (main, doc worker, fold worker): where memory grows shows here. */
  threadHeaps(): Promise<Array<[string, number | null]>>
  /** The formats this node sends other nodes, who holds them back, and what it dropped. */
  wireFormats?(): Pick<FormatNegotiator, 'status' | 'drops'>
}

const MS = 1_000
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const SIZE_BUCKETS = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8]

export class PrometheusMetrics implements CollabObserver {
  readonly registry = new Registry()
  private readonly framesInTotal: Counter
  private readonly bytesInTotal: Counter
  private readonly rejectedTotal: Counter<'reason'>
  private readonly updatesInTotal: Counter
  private readonly framesOutTotal: Counter
  private readonly bytesOutTotal: Counter
  private readonly appendFailuresTotal: Counter
  private readonly remoteLag: Histogram
  private readonly roomLoad: Histogram
  private readonly roomLoadFailuresTotal: Counter
  private readonly evictionsTotal: Counter
  private readonly compaction: Histogram
  private readonly snapshotBytes: Histogram
  private readonly compactionFailuresTotal: Counter
  private readonly slowConsumersTotal: Counter
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []): Counter<L> => new Counter({ name, help, labelNames, registers })
    const histogram = <L extends string = never>(name: string, help: string, buckets: number[], labelNames: L[] = []): Histogram<L> => new Histogram({ name, help, buckets, labelNames, registers })
    this.framesInTotal = counter('collab_frames_in_total', 'WebSocket frames received')
    this.bytesInTotal = counter('collab_bytes_in_total', 'WebSocket bytes received')
    this.rejectedTotal = counter('collab_rejected_frames_total', 'Frames refused, by close reason', ['reason'])
    this.updatesInTotal = counter('collab_updates_in_total', 'Client updates accepted into the log')
    this.framesOutTotal = counter('collab_frames_out_total', 'Frames sent to sockets (a broadcast counts once per socket)')
    this.bytesOutTotal = counter('collab_bytes_out_total', 'Bytes sent to sockets')
    this.appendFailuresTotal = counter('collab_log_append_failures_total', 'Client updates the log refused (clients resync later)')
    this.remoteLag = histogram('collab_log_delivery_lag_seconds', 'From another node appending an update to this node applying it (stream lag)', LATENCY_BUCKETS)
    this.roomLoad = histogram('collab_room_load_seconds', 'Time to load a room (snapshot + log)', LATENCY_BUCKETS)
    this.roomLoadFailuresTotal = counter('collab_room_load_failures_total', 'Rooms that could not be loaded (sockets refused with 1013)')
    this.evictionsTotal = counter('collab_room_evictions_total', 'Rooms evicted from memory')
    this.compaction = histogram('collab_compaction_seconds', 'Compaction duration (snapshot write and log trim)', LATENCY_BUCKETS)
    this.snapshotBytes = histogram('collab_snapshot_bytes', 'Size of written snapshots', SIZE_BUCKETS)
    this.compactionFailuresTotal = counter('collab_compaction_failures_total', 'Compactions (snapshot saves) that failed and will be retried')
    this.slowConsumersTotal = counter('collab_slow_consumers_dropped_total', 'Sockets dropped for not keeping up')
    this.httpDuration = histogram('http_request_duration_seconds', 'REST request duration', LATENCY_BUCKETS, ['method', 'route', 'status'])
    this.liveGauges(sources)
  }

  private liveGauges(sources: MetricSources): void {
    const registers = [this.registry]
    new Gauge({ name: 'collab_connections', help: 'Open collaboration sockets', registers, collect() { this.set(sources.connections()) } })
    new Gauge({ name: 'collab_rooms_loaded', help: 'Rooms in memory', registers, collect() { this.set([...sources.rooms()].length) } })
    new Gauge({ name: 'collab_log_up', help: '1 when the update log (Redis or embedded) is reachable', registers, collect() { this.set(sources.logUp() ? 1 : 0) } })
    new Gauge({
      name: 'process_thread_heap_used_bytes',
      help: 'JS heap in use per thread (main, doc-worker, fold-worker; a worker not running is left out)',
      labelNames: ['thread'],
      registers,
      async collect() {
        this.reset()
        for (const [thread, used] of await sources.threadHeaps()) if (used !== null) this.set({ thread }, used)
      },
    })
    new Gauge({ name: 'collab_storage_up', help: '1 when storage (MongoDB or embedded) answered its last ping in time', registers, collect() { this.set(sources.storageUp() ? 1 : 0) } })
    new Counter({
      name: 'collab_background_failures_total',
      help: 'Failed runs of background work (compaction sweep, liveness probes, stream reads, lease renewals, purges, event republishing), by loop',
      labelNames: ['loop'],
      registers,
      collect() {
        this.reset()
        for (const [loop, count] of sources.backgroundFailures()) this.inc({ loop }, count)
      },
    })
    new Gauge({
      name: 'collab_unsnapshotted_age_seconds',
      help: 'Time since the last snapshot of rooms holding updates not yet snapshotted, summarised over rooms',
      labelNames: ['quantile'],
      registers,
      collect() {
        const ages = [...sources.rooms()].filter((r) => r.entriesSinceSnapshot > 0).map((r) => (Date.now() - r.lastSnapshotAt) / MS).sort((a, b) => a - b)
        for (const q of [0.5, 0.9, 0.99, 1]) this.set({ quantile: String(q) }, ages.length === 0 ? 0 : ages[Math.min(ages.length - 1, Math.floor(q * ages.length))] as number)
      },
    })
    if (sources.wireFormats) wireGauges(registers, sources.wireFormats)
    new Gauge({ name: 'collab_unsnapshotted_rooms', help: 'Rooms in memory with updates not yet in a snapshot', registers, collect() { this.set([...sources.rooms()].filter((r) => r.entriesSinceSnapshot > 0).length) } })
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds)
  }

  frameIn(bytes: number): void {
    this.framesInTotal.inc()
    this.bytesInTotal.inc(bytes)
  }

  frameRejected(reason: string): void {
    this.rejectedTotal.inc({ reason })
  }

  updatesAccepted(count: number): void {
    this.updatesInTotal.inc(count)
  }

  framesOut(sockets: number, bytes: number): void {
    this.framesOutTotal.inc(sockets)
    this.bytesOutTotal.inc(sockets * bytes)
  }

  appendFailed(updates: number): void {
    this.appendFailuresTotal.inc(updates)
  }

  remoteApplied(lagMs: number): void {
    this.remoteLag.observe(Math.max(0, lagMs) / MS)
  }

  roomLoaded(ms: number): void {
    this.roomLoad.observe(ms / MS)
  }

  roomLoadFailed(): void {
    this.roomLoadFailuresTotal.inc()
  }

  roomEvicted(): void {
    this.evictionsTotal.inc()
  }

  compacted(bytes: number, ms: number): void {
    this.compaction.observe(ms / MS)
    this.snapshotBytes.observe(bytes)
  }

  compactionFailed(): void {
    this.compactionFailuresTotal.inc()
  }

  slowConsumerDropped(): void {
    this.slowConsumersTotal.inc()
  }
}

/** What a rolling upgrade is watched by: the formats sent, the old nodes holding them back, what was dropped. */
function wireGauges(registers: Registry[], formats: NonNullable<MetricSources['wireFormats']>): void {
  new Gauge({
    name: 'collab_wire_format',
    help: 'Format version this node sends other nodes, by kind (presence, access, record, snapshot): the newest every live node reads',
    labelNames: ['kind'],
    registers,
    collect() {
      for (const [kind, version] of Object.entries(formats().status().sending)) this.set({ kind }, version)
    },
  })
  new Gauge({ name: 'collab_wire_generation', help: 'Wire generation this node runs as (WIRE_FORMAT_CEILING lowers it in rehearsals)', registers, collect() { this.set(formats().status().generation) } })
  new Gauge({ name: 'collab_wire_old_nodes', help: 'Live nodes that read less than this node would send: until they leave, the older formats are sent', registers, collect() { this.set(formats().status().oldNodes.length) } })
  new Counter({
    name: 'collab_wire_dropped_total',
    help: 'Messages from other nodes dropped unread, by kind and reason (unknown_version: newer than this node reads; malformed)',
    labelNames: ['kind', 'reason'],
    registers,
    collect() {
      this.reset()
      for (const { kind, reason, count } of formats().drops()) this.inc({ kind, reason }, count)
    },
  })
}
