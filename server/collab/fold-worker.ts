/**
 * Worker thread that folds a snapshot and log entries into a new snapshot, so compaction never
 * blocks the main thread: it applies the pieces and the entries (in the batches it is sent),
 * encodes the state and splits it into pieces again. One session per compaction.
 */
import { parentPort } from 'node:worker_threads'
import * as Y from 'yjs'
import { splitUpdate } from './split-update.ts'

export type FoldRequest =
  | { id: number; type: 'begin'; pieces: Uint8Array[] }
  | { id: number; type: 'add'; updates: Uint8Array[] }
  | { id: number; type: 'finish'; pieceBytes: number }
  | { id: number; type: 'abort' }

export type FoldReply = { id: number; pieces: Uint8Array[] } | { id: number; error: string } | { id: number; ok: true }

const sessions = new Map<number, Y.Doc>()

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
      const doc = new Y.Doc()
      for (const piece of request.pieces) apply(doc, piece)
      sessions.set(request.id, doc)
      return { id: request.id, ok: true }
    }
    case 'add': {
      const doc = sessions.get(request.id)
      if (!doc) return { id: request.id, error: 'no such fold session' }
      for (const update of request.updates) apply(doc, update)
      return { id: request.id, ok: true }
    }
    case 'finish': {
      const doc = sessions.get(request.id)
      sessions.delete(request.id)
      if (!doc) return { id: request.id, error: 'no such fold session' }
      const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), request.pieceBytes)
      doc.destroy()
      return { id: request.id, pieces }
    }
    case 'abort':
      sessions.get(request.id)?.destroy()
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
