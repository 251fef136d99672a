/**
 * Loading a room = its snapshot + every log entry after the snapshot's watermark. The snapshot's
 * pieces and the log's entries are applied in slices, yielding to the event loop between them,
 * so loading a big document never stalls the other rooms for long.
 *
 * A compaction elsewhere may write a newer snapshot and trim the log while we read; the
 * watermark is re-read afterwards and the load restarts if it moved, so no entry is skipped.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import * as Y from 'yjs'
import { LOG_START, type LogId } from '../log/log-id.ts'
import type { UpdateLog } from '../log/types.ts'
import type { SnapshotStore } from '../storage/types.ts'
import type { Logger } from '../logger.ts'
import { LOAD } from './origins.ts'
import { decodeSnapshotParts } from './snapshot-codec.ts'
import { splitUpdate } from './split-update.ts'
import { EMPTY_STATE_VECTOR } from './state-vectors.ts'
import { SINCE_BASE_LIMITS } from './updates-since-base.ts'

/** A stored snapshot, as pieces: what fresh clients are sent and compaction folds from. */
export interface Base {
  pieces: Uint8Array[]
  /** Leading pieces from the last full fold; the rest are appended deltas. */
  full: number
  /** Every log entry with id ≤ watermark is in the pieces. */
  watermark: LogId
  /** The state the pieces hold (a fresh client gets them plus the doc's diff to this). */
  stateVector: Uint8Array
}

export interface LoadedState {
  doc: Y.Doc
  /** Every log entry with id ≤ watermark is in `doc`. */
  watermark: LogId
  /** Log entries replayed on top of the snapshot. */
  replayed: number
  base: Base
  /** Those entries' updates (null when there were too many to keep). */
  sinceBase: Uint8Array[] | null
}

export interface LoaderDeps {
  snapshots: SnapshotStore
  log: UpdateLog
  batchSize: number
  logger: Logger
}

const MAX_ATTEMPTS = 5

export class RoomLoadError extends Error {
  override name = 'RoomLoadError'
}

/** The stored snapshot's pieces and watermark; `stored` is null when there is no snapshot. */
export async function loadBase(room: string, snapshots: SnapshotStore): Promise<Omit<Base, 'stateVector'> & { stored: LogId | null }> {
  const snapshot = await snapshots.load(room)
  if (!snapshot) return { pieces: [], full: 0, watermark: LOG_START, stored: null }
  return { ...decodeSnapshotParts(snapshot.update), watermark: snapshot.watermark, stored: snapshot.watermark }
}

export async function loadRoomState(room: string, deps: LoaderDeps): Promise<LoadedState> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { stored, ...storedBase } = await loadBase(room, deps.snapshots)
    const doc = new Y.Doc()
    await applyInSlices(doc, storedBase.pieces, room, deps.logger)
    const base: Base = { ...storedBase, stateVector: storedBase.pieces.length > 0 ? Y.encodeStateVector(doc) : EMPTY_STATE_VECTOR }
    const { watermark, replayed, updates } = await replayLog(doc, room, base.watermark, deps)
    if ((await deps.snapshots.watermark(room)) === stored) return { doc, watermark, replayed, base, sinceBase: updates }
    doc.destroy()
    deps.logger.debug({ room, attempt }, 'snapshot changed during load; reloading')
  }
  throw new RoomLoadError(`room ${room} kept changing while loading`)
}

/**
 * Stored pieces are up to PIECE_BYTES; applying 256 KiB of canvas takes ~30 ms. So pieces are cut
 * again into small slices (~3 ms each) and the event loop gets a turn every few milliseconds: a
 * bystander's edit needs two or three turns (receive, log, broadcast), each delayed by one budget.
 */
const LOAD_SLICE_BYTES = 16 * 1024
const LOAD_BUDGET_MS = 4

async function applyInSlices(doc: Y.Doc, pieces: Uint8Array[], room: string, logger: Logger): Promise<void> {
  let turnStarted = performance.now()
  for (const piece of pieces) {
    for (const slice of splitUpdate(piece, LOAD_SLICE_BYTES)) {
      applyLogged(doc, slice, LOAD, logger, room)
      if (performance.now() - turnStarted < LOAD_BUDGET_MS) continue
      await yieldToEventLoop()
      turnStarted = performance.now()
    }
  }
}

/** Applies entries after `start` to `doc` in batches; returns the last id applied and the updates (if few enough). */
async function replayLog(doc: Y.Doc, room: string, start: LogId, deps: LoaderDeps): Promise<{ watermark: LogId; replayed: number; updates: Uint8Array[] | null }> {
  let watermark = start
  let replayed = 0
  let updates: Uint8Array[] | null = []
  let bytes = 0
  for (;;) {
    const entries = await deps.log.read(room, watermark, deps.batchSize)
    for (const entry of entries) {
      for (const { update } of entry.updates) {
        applyLogged(doc, update, LOAD, deps.logger, room)
        bytes += update.length
        updates?.push(update)
      }
      watermark = entry.id
      replayed += entry.updates.length
    }
    if (replayed > SINCE_BASE_LIMITS.maxUpdates || bytes > SINCE_BASE_LIMITS.maxBytes) updates = null
    if (entries.length < deps.batchSize) return { watermark, replayed, updates }
    await yieldToEventLoop()
  }
}

/** Logged updates were validated before logging; should one still fail, skip it, loudly. */
export function applyLogged(doc: Y.Doc, update: Uint8Array, origin: unknown, logger: Logger, room: string): void {
  try {
    Y.applyUpdate(doc, update, origin)
  } catch (error) {
    logger.error({ err: error, room }, 'skipping a logged update that Yjs rejects')
  }
}
