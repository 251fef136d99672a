/**
 * Worker thread that folds log entries into snapshot pieces, so compaction never blocks the main
 * thread. One session per compaction, fed in batches:
 *   - full: apply the base pieces and the entries, encode the state, split it into pieces;
 *   - delta: merge only the entries into one update and split it (the base stays as it is).
 */
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import * as Y from 'yjs'
import { splitUpdate } from './split-update.ts'
import { stateVectorOf } from './state-vectors.ts'

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

lowerThisThreadsPriority()

export type FoldMode = 'full' | 'delta'

export type FoldRequest =
  | { id: number; type: 'begin'; mode: FoldMode; pieces: Uint8Array[]; stateVector: Uint8Array }
  | { id: number; type: 'add'; updates: Uint8Array[] }
  | { id: number; type: 'finish'; pieceBytes: number }
  | { id: number; type: 'abort' }

export type FoldReply = { id: number; pieces: Uint8Array[]; stateVector: Uint8Array } | { id: number; error: string } | { id: number; ok: true }

interface Session {
  doc: Y.Doc | null
  /** Delta mode: the entries merged so far, and the base's state vector to extend. */
  merged: Uint8Array | null
  stateVector: Uint8Array
}

const sessions = new Map<number, Session>()

function apply(doc: Y.Doc, update: Uint8Array): void {
  try {
    Y.applyUpdate(doc, update)
  } catch {
    // Logged updates were validated; one Yjs still rejects is skipped, as a load would.
  }
}

function handle(request: FoldRequest): FoldReply {
  switch (request.type) {
    case 'begin': {
      const doc = request.mode === 'full' ? new Y.Doc() : null
      if (doc) for (const piece of request.pieces) apply(doc, piece)
      sessions.set(request.id, { doc, merged: null, stateVector: request.stateVector })
      return { id: request.id, ok: true }
    }
    case 'add': {
      const session = sessions.get(request.id)
      if (!session) return { id: request.id, error: 'no such fold session' }
      if (session.doc) for (const update of request.updates) apply(session.doc, update)
      else session.merged = Y.mergeUpdates(session.merged ? [session.merged, ...request.updates] : request.updates)
      return { id: request.id, ok: true }
    }
    case 'finish': {
      const session = sessions.get(request.id)
      sessions.delete(request.id)
      if (!session) return { id: request.id, error: 'no such fold session' }
      const state = session.doc ? Y.encodeStateAsUpdate(session.doc) : session.merged
      const pieces = state ? splitUpdate(state, request.pieceBytes) : []
      const stateVector = session.doc ? Y.encodeStateVector(session.doc) : stateVectorOf(pieces, session.stateVector)
      session.doc?.destroy()
      return { id: request.id, pieces, stateVector }
    }
    case 'abort':
      sessions.get(request.id)?.doc?.destroy()
      sessions.delete(request.id)
      return { id: request.id, ok: true }
  }
}

parentPort?.on('message', (request: FoldRequest) => {
  let reply: FoldReply
  try {
    reply = handle(request)
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) }
  }
  const transfer = 'pieces' in reply ? reply.pieces.map((p) => p.buffer as ArrayBuffer) : []
  parentPort?.postMessage(reply, transfer)
})
