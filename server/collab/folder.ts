/**
 * The main thread's side of the fold worker (fold-worker.ts): one lazily started worker per
 * process, restarted if it dies. The worker answers requests strictly in order, so waiters are a
 * FIFO. Inputs are copied to it (they may be views into pooled buffers); results come back
 * transferred.
 */
import { Worker } from 'node:worker_threads'
import type { FoldMode, FoldReply, FoldRequest } from './fold-worker.ts'

/** Snapshot pieces are at most this big, so a load applies them in short slices. */
export const PIECE_BYTES = 256 * 1024

// Running from TypeScript sources (node, vitest) or from compiled dist/: same folder, own extension.
const WORKER_URL = new URL(`./fold-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)

interface Waiter {
  resolve(reply: FoldReply): void
  reject(error: Error): void
}

export class Folder {
  private worker: Worker | null = null
  private waiting: Waiter[] = []
  private nextId = 1

  /**
   * Full: folds `pieces` (a snapshot) and every batch of `updates` into new snapshot pieces.
   * Delta: merges the batches alone into pieces to append to the snapshot.
   */
  async fold(mode: FoldMode, base: { pieces: Uint8Array[]; stateVector: Uint8Array }, batches: AsyncIterable<Uint8Array[]>): Promise<{ pieces: Uint8Array[]; stateVector: Uint8Array }> {
    const id = this.nextId++
    try {
      await this.call({ id, type: 'begin', mode, pieces: mode === 'full' ? base.pieces : [], stateVector: base.stateVector })
      for await (const updates of batches) await this.call({ id, type: 'add', updates })
      const reply = await this.call({ id, type: 'finish', pieceBytes: PIECE_BYTES })
      if (!('pieces' in reply)) throw new Error('fold worker gave no pieces')
      return { pieces: reply.pieces, stateVector: reply.stateVector }
    } catch (error) {
      if (this.worker) void this.call({ id, type: 'abort' }).catch(() => undefined)
      throw error
    }
  }

  async close(): Promise<void> {
    const worker = this.worker
    this.worker = null
    await worker?.terminate()
  }

  private call(request: FoldRequest): Promise<FoldReply> {
    const worker = this.ensureWorker()
    return new Promise<FoldReply>((resolve, reject) => {
      this.waiting.push({ resolve: (reply) => ('error' in reply ? reject(new Error(`fold failed: ${reply.error}`)) : resolve(reply)), reject })
      worker.postMessage(request)
    })
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(WORKER_URL)
    worker.unref()
    worker.on('message', (reply: FoldReply) => this.waiting.shift()?.resolve(reply))
    worker.on('error', (error) => this.failAll(error))
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null
      this.failAll(new Error('fold worker exited'))
    })
    this.worker = worker
    return worker
  }

  private failAll(error: Error): void {
    const waiting = this.waiting
    this.waiting = []
    for (const waiter of waiting) waiter.reject(error)
  }
}
