/** Jobs the parent hands to a load-generator process, and what comes back. */
import type { TargetSpec } from './clients.ts'

export interface ReaderGroup {
  target: TargetSpec
  perRoom: number
}

export interface LatencyJob {
  kind: 'latency'
  writerTarget: TargetSpec
  /** Reader groups are measured separately (e.g. same node vs another node). */
  readers: ReaderGroup[]
  rooms: string[]
  writersPerRoom: number
  /** Edits per second per writer. */
  rate: number
  warmupMs: number
  durationMs: number
  /** Bare syncs of another room run during the measured window, from this same process. */
  meanwhile?: Meanwhile
}

export interface Meanwhile {
  room: string
  /** Concurrent sync loops. */
  parallel: number
  /** Stop after this many syncs per loop (default: until the window ends). */
  count?: number
  /** Pause before each sync (e.g. to let the server evict the room: cold loads). */
  pauseMs?: number
  /** Sync as a client that has this state (a reconnect), instead of as an empty one. */
  stateVector?: number[]
  /**
   * Each loop starts a sync at most this often: a fixed offered load, so a server that answers
   * faster is not sent more syncs (and its bystanders' latency is not read in a generator that
   * its own speed saturated).
   */
  everyMs?: number
}

export interface LatencyResult {
  /** Writer edit → reader observe, in ms, for edits made in the measured window; one list per reader group. */
  samples: number[][]
  edits: number
  expectedDeliveries: number
  seconds: number
  /** Sync times (ms) of the `meanwhile` task. */
  meanwhileMs: number[]
}

export interface ConnectJob {
  kind: 'connect'
  target: TargetSpec
  rooms: string[]
  perRoom: number
  /** Keep the clients connected until told to stop (idle-memory runs). */
  hold: boolean
  /** Each client brings a canvas document of about this size, uploaded by the normal sync. */
  docBytes?: number
}

export interface ConnectResult {
  /** Creation of the provider → synced, in ms. */
  times: number[]
  failures: number
}

export interface UploadJob {
  kind: 'upload'
  target: TargetSpec
  room: string
  bytes: number
}

export interface UploadResult {
  bytes: number
}

export interface RawSyncJob {
  kind: 'raw-sync'
  target: TargetSpec
  rooms: string[]
  /** Sequential syncs per room. */
  repeat: number
  /** Pause between syncs (lets the server evict the room, for cold loads). */
  pauseMs?: number
}

export interface RawSyncResult {
  firstFrameMs: number[]
  step2Ms: number[]
  failures: number
}

export interface HttpJob {
  kind: 'http'
  base: string
  token: string
  paths: string[]
  /** Sequential requests per path. */
  repeat: number
}

export interface HttpResult {
  /** Per path, ms per request. */
  times: number[][]
  failures: number
}

/** Sessions come and go: each opens a stock client, draws a little, sets presence, and closes. */
export interface ChurnJob {
  kind: 'churn'
  target: TargetSpec
  rooms: string[]
  /** New sessions started per second (evenly spread). */
  sessionsPerSecond: number
  /** How long each session stays open after syncing. */
  sessionMs: number
  durationMs: number
}

export interface ChurnResult {
  sessions: number
  failures: number
  /** Failures by reason ("no sync in 30 s, closed 4408 x2", ...), to tell the server's refusals from slowness. */
  reasons: Record<string, number>
}

export type Job = LatencyJob | ConnectJob | UploadJob | RawSyncJob | HttpJob | ChurnJob

export type WorkerMessage =
  | { type: 'phase'; name: 'measure-start' | 'measure-end' | 'connected' }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string }

export type ParentMessage = { type: 'job'; job: Job } | { type: 'stop' }

/** Lean load (precomputed frames, readers that do not apply updates); see bench/lean-worker.ts. */
export interface LeanRoom {
  name: string
  /** Yjs client ids of the room's writers, unique within this job. */
  writers: number[]
}

export interface LeanJob {
  target: TargetSpec
  rooms: LeanRoom[]
  readersPerRoom: number
  /** Strokes' author: the user the target knows the writers as (servers with content rules check it). */
  author: string
  /** Edits per second per writer. */
  rate: number
  warmupMs: number
  durationMs: number
}

export interface LeanResult {
  /** Edits sent in the measured window. */
  edits: number
  /** Deliveries those edits owe (edits x readers in their room) and deliveries made. */
  expectedDeliveries: number
  deliveries: number
  /** Update messages readers received in the window (fewer than deliveries where a server merges updates). */
  frames: number
  /** Counts of a LatencyHistogram over the deliveries made. */
  latencyCounts: number[]
  latencyMax: number
  seconds: number
  /** Why sockets closed during the run (empty when none did). */
  closes: string[]
  /** Edits a writer could not send because its precomputed frames ran out. */
  starved: number
}

export type LeanParentMessage = { type: 'job'; job: LeanJob } | { type: 'go' }

export type LeanWorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; result: LeanResult }
  | { type: 'error'; message: string }
