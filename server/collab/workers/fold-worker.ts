/**
 * Worker thread that folds log entries into snapshot pieces, so compaction never blocks the main
 * thread. One session per compaction, fed in batches:
 *   - full: apply the base pieces and the entries, encode the state, split it into pieces;
 *   - delta: merge only the entries into one update and split it (the base stays as it is).
 * It also carries forward what a snapshot stores beside its pieces: each piece's coverage, the
 * state vector, and the client-id bindings (the first writer of each client id keeps it).
 */
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import * as Y from 'yjs'
import type { LoggedUpdate } from '../../log/record-codec.ts'
import { splitUpdate } from '../sync/split-update.ts'
import { stateVectorOf } from '../sync/state-vectors.ts'
import { updateInfo, type UpdateInfo } from '../sync/update-info.ts'
import { CONTENT, validateUpdateV1 } from '../wire/update-validator.ts'
import { serveRequests } from './worker-channel.ts'

/**
 * Compaction is background work: on Linux this thread alone (its thread id, from
 * /proc/thread-self) gets the lowest priority, so it only takes CPU the event loop does not want.
 */
function lowerThisThreadsPriority(): void {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19)
  } catch {
    // not Linux, or not permitted: compaction still works, at normal priority
  }
}

export type FoldMode = 'full' | 'delta'

export type FoldRequest =
  | { id: number; type: 'begin'; mode: FoldMode; stateVector: Uint8Array; bindings: Array<[number, string]> }
  /** A full fold's base, a part at a time (each message's bytes are packed on the sender's thread, then moved). */
  | { id: number; type: 'pieces'; pieces: Uint8Array[] }
  | { id: number; type: 'add'; updates: LoggedUpdate[] }
  | { id: number; type: 'finish'; pieceBytes: number }
  | { id: number; type: 'abort' }

export interface FoldResult {
  pieces: Uint8Array[]
  infos: UpdateInfo[]
  stateVector: Uint8Array
  bindings: Map<number, string>
}

interface Session {
  doc: Y.Doc | null
  /** Delta mode: the entries merged so far, and the base's state vector to extend. */
  merged: Uint8Array | null
  stateVector: Uint8Array
  bindings: Map<number, string>
}

function apply(doc: Y.Doc, update: Uint8Array): void {
  try {
    Y.applyUpdate(doc, update)
  } catch {
    // Logged updates were validated; one Yjs still rejects is skipped, as a load would.
  }
}

/**
 * Binds the client ids an update writes content under to its writer, unless bound already
 * (deleted and collected ranges bind nothing: clients pass on those of others').
 */
function bind(bindings: Map<number, string>, { writer, update }: LoggedUpdate): void {
  if (writer === '') return
  try {
    validateUpdateV1(update, { item(item) { if (item.contentRef !== CONTENT.deleted && !bindings.has(item.client)) bindings.set(item.client, writer) } })
  } catch {
    // skipped above as well
  }
}

/** The fold sessions of one worker (one per worker thread; a simulation runs one per node in-process). */
export class FoldWork {
  private readonly sessions = new Map<number, Session>()

  /** Answers one request. */
  handle(request: FoldRequest): { value: unknown; transfer?: ArrayBuffer[] } {
    switch (request.type) {
      case 'begin': {
        const doc = request.mode === 'full' ? new Y.Doc() : null
        this.sessions.set(request.id, { doc, merged: null, stateVector: request.stateVector, bindings: new Map(request.bindings) })
        return { value: null }
      }
      case 'pieces': {
        const session = this.sessionOf(request.id)
        if (session.doc) for (const piece of request.pieces) apply(session.doc, piece)
        return { value: null }
      }
      case 'add': {
        const session = this.sessionOf(request.id)
        for (const logged of request.updates) bind(session.bindings, logged)
        const updates = request.updates.map((u) => u.update)
        if (session.doc) for (const update of updates) apply(session.doc, update)
        else session.merged = Y.mergeUpdates(session.merged ? [session.merged, ...updates] : updates)
        return { value: null }
      }
      case 'finish': {
        const session = this.sessionOf(request.id)
        this.sessions.delete(request.id)
        const result = finish(session, request.pieceBytes)
        return { value: result, transfer: result.pieces.map((p) => p.buffer as ArrayBuffer) }
      }
      case 'abort':
        this.sessions.get(request.id)?.doc?.destroy()
        this.sessions.delete(request.id)
        return { value: null }
    }
  }

  private sessionOf(id: number): Session {
    const session = this.sessions.get(id)
    if (!session) throw new Error('no such fold session')
    return session
  }
}

function finish(session: Session, pieceBytes: number): FoldResult {
  const state = session.doc ? Y.encodeStateAsUpdate(session.doc) : session.merged
  const pieces = state ? splitUpdate(state, pieceBytes).map((p) => p.slice()) : [] // own buffers, to transfer
  const stateVector = session.doc ? Y.encodeStateVector(session.doc) : stateVectorOf(pieces, session.stateVector)
  session.doc?.destroy()
  return { pieces, infos: pieces.map(updateInfo), stateVector, bindings: session.bindings }
}

if (parentPort) {
  lowerThisThreadsPriority()
  const work = new FoldWork()
  serveRequests(parentPort, (request: FoldRequest) => work.handle(request))
}
