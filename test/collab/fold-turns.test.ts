/**
 * The fold worker holds at most OPEN_FOLDS folds at once (each holds a document there): a wave of
 * evictions queues its final folds instead of opening one per room. A fold that fails hands its
 * turn on, and every fold that waited is still done, in the order it asked.
 */
import { expect, it } from 'vitest'
import { Folder, OPEN_FOLDS } from '../../server/collab/compaction/folder.ts'
import type { FoldRequest } from '../../server/collab/workers/fold-worker.ts'
import type { WorkerLike } from '../../server/collab/workers/worker-channel.ts'

/** A worker that answers on a later turn of the event loop and counts the folds it holds. */
class CountingWorker implements WorkerLike<FoldRequest> {
  open = new Set<number>()
  mostOpen = 0
  begun: number[] = []
  failOn = new Set<number>()

  async call<T>(request: FoldRequest): Promise<T> {
    await new Promise((resolve) => setImmediate(resolve))
    if (request.type === 'begin') {
      this.open.add(request.id)
      this.begun.push(request.id)
      this.mostOpen = Math.max(this.mostOpen, this.open.size)
    }
    if (request.type === 'add' && this.failOn.has(request.id)) throw new Error(`fold ${request.id} failed`)
    if (request.type === 'finish' || request.type === 'abort') this.open.delete(request.id)
    return { pieces: [], infos: [], stateVector: [], bindings: [] } as T
  }

  onRestart(): () => void {
    return () => {}
  }

  async close(): Promise<void> {}
}

async function* slowBatches(count: number) {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1))
    yield [{ writer: 'u', update: new Uint8Array([0, 0]) }]
  }
}

const base = { pieces: [], stateVector: new Uint8Array([0]), bindings: new Map<number, string>() }

it(`holds at most ${OPEN_FOLDS} folds in the worker, and a failed one hands its turn on`, async () => {
  const worker = new CountingWorker()
  worker.failOn.add(2) // the second fold to begin fails midway
  const folder = new Folder(worker)
  const folds = Array.from({ length: 7 }, (_, i) => folder.fold(i % 2 === 0 ? 'full' : 'delta', base, slowBatches(3)))
  const outcomes = await Promise.allSettled(folds)

  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
  expect(worker.mostOpen).toBe(OPEN_FOLDS)
  expect(worker.begun).toEqual([1, 2, 3, 4, 5, 6, 7])
  expect(worker.open.size).toBe(0)

  // Every turn came back: more folds run at once again.
  worker.mostOpen = 0
  await Promise.all([folder.fold('full', base, slowBatches(2)), folder.fold('full', base, slowBatches(2))])
  expect(worker.mostOpen).toBe(OPEN_FOLDS)
})
