/**
 * Loading a room = its snapshot (as pieces, with what each covers) + every log entry after the
 * snapshot's watermark, as bytes. No document is built: a hot room serves and relays bytes.
 *
 * A compaction elsewhere may write a newer snapshot and trim the log while we read; the
 * watermark is re-read afterwards and the load restarts if it moved, so no entry is skipped.
 */
import * as Y from 'yjs'
import { LOG_START, type LogId } from '../../log/log-id.ts'
import type { LogEntry, UpdateLog } from '../../log/types.ts'
import type { Logger } from '../../logger.ts'
import type { SnapshotStore } from '../../storage/types.ts'
import type { StoredBase } from './doc-bytes.ts'
import type { DocWorker } from '../workers/doc-worker-client.ts'
import { decodeSnapshotParts } from '../compaction/snapshot-codec.ts'
import { updateInfo } from '../sync/update-info.ts'
import { framedInTurns } from './piece-frames.ts'

export interface LoaderDeps {
  snapshots: SnapshotStore
  log: UpdateLog
  worker: DocWorker
  batchSize: number
  logger: Logger
}

export interface LoadedRoom {
  base: StoredBase
  /** Log entries after the base's watermark, in log order. */
  entries: LogEntry[]
}

const MAX_ATTEMPTS = 5

export class RoomLoadError extends Error {
  override name = 'RoomLoadError'
}

/** The stored snapshot as a base; `stored` is null when there is no snapshot. */
export async function loadBase(room: string, deps: Pick<LoaderDeps, 'snapshots' | 'worker'>): Promise<StoredBase & { stored: LogId | null }> {
  const snapshot = await deps.snapshots.load(room)
  if (!snapshot) return { pieces: [], infos: [], full: 0, watermark: LOG_START, stateVector: new Map(), bindings: new Map(), stored: null }
  const parts = decodeSnapshotParts(snapshot.update)
  // Snapshots written before pieces carried their coverage are analysed once, off the main thread.
  const meta = parts.infos && parts.stateVector ? { infos: parts.infos, stateVector: parts.stateVector } : await deps.worker.infos(parts.pieces)
  return {
    pieces: await framedInTurns(parts.pieces),
    infos: meta.infos,
    full: parts.full,
    watermark: snapshot.watermark,
    stateVector: Y.decodeStateVector(meta.stateVector),
    bindings: parts.bindings,
    stored: snapshot.watermark,
  }
}

export async function loadRoom(room: string, deps: LoaderDeps): Promise<LoadedRoom> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { stored, ...base } = await loadBase(room, deps)
    const entries = await readSince(room, base.watermark, deps)
    if ((await deps.snapshots.watermark(room)) === stored) return { base, entries }
    deps.logger.debug({ room, attempt }, 'snapshot changed during load; reloading')
  }
  throw new RoomLoadError(`room ${room} kept changing while loading`)
}

/** Every log entry after `start`, read in batches. */
export async function readSince(room: string, start: LogId, deps: Pick<LoaderDeps, 'log' | 'batchSize'>): Promise<LogEntry[]> {
  const all: LogEntry[] = []
  let position = start
  for (;;) {
    const entries = await deps.log.read(room, position, deps.batchSize)
    all.push(...entries)
    if (entries.length < deps.batchSize) return all
    position = entries.at(-1)!.id
  }
}

/** Logged updates were validated before logging; should one still be malformed, skip it, loudly. */
export function infoOrSkip(update: Uint8Array, room: string, logger: Logger): ReturnType<typeof updateInfo> | null {
  try {
    return updateInfo(update)
  } catch (error) {
    logger.error({ err: error, room }, 'skipping a logged update that does not decode')
    return null
  }
}
