/**
 * A full fold's base reaches the fold worker in messages of at most about 1 MiB, one per turn
 * (each is copied on the event loop's thread: 10 MiB in one message stalled it ~60 ms), in order,
 * and the fold is the same as if it had come whole. Each message moves a buffer of its own bytes:
 * a loaded room's pieces are views into one buffer, and posting a view clones all of that.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { Folder } from '../../server/collab/compaction/folder.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { FoldWork, type FoldRequest } from '../../server/collab/workers/fold-worker.ts'
import type { WorkerLike } from '../../server/collab/workers/worker-channel.ts'
import { addStroke } from '../../shared/canvas.ts'
import { strokeCanvas } from '../helpers/stroke-canvas.ts'

/** The fold worker's work in this thread, each request answered on a later turn and recorded. */
class RecordingWorker implements WorkerLike<FoldRequest> {
  readonly work = new FoldWork()
  readonly requests: FoldRequest[] = []
  readonly transfers: ArrayBuffer[][] = []

  async call<T>(request: FoldRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    this.requests.push(request)
    this.transfers.push(transfer)
    await new Promise((resolve) => setImmediate(resolve))
    return this.work.handle(request).value as T
  }

  onRestart(): () => void {
    return () => {}
  }

  async close(): Promise<void> {}
}

const bytesOf = (pieces: readonly Uint8Array[]): number => pieces.reduce((sum, p) => sum + p.length, 0)

it('sends a full fold\'s base in messages of at most 1 MiB, in order, and folds the same document', async () => {
  const doc = strokeCanvas(6_000)
  const split = splitUpdate(Y.encodeStateAsUpdate(doc), 200 * 1024)
  const loaded = new Uint8Array(bytesOf(split)) // as a load from storage holds them: views into one buffer
  let offset = 0
  const pieces = split.map((piece) => {
    loaded.set(piece, offset)
    offset += piece.length
    return loaded.subarray(offset - piece.length, offset)
  })
  expect(bytesOf(pieces)).toBeGreaterThan(2 * 1024 * 1024)
  const later = new Y.Doc()
  Y.applyUpdate(later, Y.encodeStateAsUpdate(doc))
  const updates: Uint8Array[] = []
  later.on('update', (update: Uint8Array) => updates.push(update))
  addStroke(later, { author: 'bob', color: '#ff0000', width: 3, tool: 'pen', points: [[1, 2], [3, 4]] })

  const worker = new RecordingWorker()
  const folded = await new Folder(worker).fold('full', { pieces, stateVector: Y.encodeStateVector(doc), bindings: new Map() }, [updates.map((update) => ({ writer: 'bob', update }))])

  const begin = worker.requests.find((r) => r.type === 'begin')
  expect(begin).toBeDefined()
  expect(begin).not.toHaveProperty('pieces') // the base comes in 'pieces' messages alone
  const sent = worker.requests.flatMap((r) => (r.type === 'pieces' ? [r.pieces] : []))
  expect(sent.length).toBeGreaterThan(2)
  for (const group of sent) expect(group.length === 1 || bytesOf(group) <= 1024 * 1024).toBe(true)
  expect(sent.flat()).toEqual(pieces)
  worker.requests.forEach((request, i) => {
    if (request.type !== 'pieces') return
    expect(request.pieces.every((piece) => worker.transfers[i]!.includes(piece.buffer as ArrayBuffer))).toBe(true)
    expect(worker.transfers[i]!.reduce((sum, b) => sum + b.byteLength, 0)).toBe(bytesOf(request.pieces))
  })
  const result = new Y.Doc()
  for (const piece of folded.pieces) Y.applyUpdate(result, piece)
  expect(Buffer.from(Y.encodeStateVector(result)).equals(Buffer.from(Y.encodeStateVector(later)))).toBe(true)
  expect(result.getArray('strokes').toJSON()).toEqual(later.getArray('strokes').toJSON())
})
