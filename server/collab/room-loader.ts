/**
 * Loading a room = its snapshot + every log entry after the snapshot's watermark, replayed in
 * bounded batches (yielding between them so a long log never blocks other rooms).
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

export interface LoadedState {
  doc: Y.Doc
  /** Every log entry with id ≤ watermark is in `doc`. */
  watermark: LogId
  /** Log entries replayed on top of the snapshot. */
  replayed: number
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

export async function loadRoomState(room: string, deps: LoaderDeps): Promise<LoadedState> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const snapshot = await deps.snapshots.load(room)
    const doc = new Y.Doc()
    if (snapshot) Y.applyUpdate(doc, snapshot.update, LOAD)
    const start = snapshot?.watermark ?? LOG_START
    const { watermark, replayed } = await replayLog(doc, room, start, deps)
    if ((await deps.snapshots.watermark(room)) === (snapshot?.watermark ?? null)) {
      return { doc, watermark, replayed }
    }
    doc.destroy()
    deps.logger.debug({ room, attempt }, 'snapshot changed during load; reloading')
  }
  throw new RoomLoadError(`room ${room} kept changing while loading`)
}

/** Applies entries after `start` to `doc`; returns the last id applied. */
export async function replayLog(doc: Y.Doc, room: string, start: LogId, deps: LoaderDeps): Promise<{ watermark: LogId; replayed: number }> {
  let watermark = start
  let replayed = 0
  for (;;) {
    const entries = await deps.log.read(room, watermark, deps.batchSize)
    for (const entry of entries) {
      applyLogged(doc, entry.update, LOAD, deps.logger, room)
      watermark = entry.id
    }
    replayed += entries.length
    if (entries.length < deps.batchSize) return { watermark, replayed }
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
