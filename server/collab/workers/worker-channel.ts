/**
 * Request/reply over one worker thread, started lazily and restarted if it dies. The worker
 * answers strictly in order, so waiters are a FIFO. A reply is `{ ok: true, value }` or
 * `{ ok: false, error }`; a worker that exits fails everything in flight (callers retry or
 * report), and `onRestart` listeners learn that whatever state it held is gone.
 *
 * A channel given `retireAfterMs` lets its thread go once it has answered everything and been
 * asked nothing for that long, when its owner says it holds nothing (`canRetire`): an idle
 * node then gives back the thread's heap and isolate (tens of MiB), and the next call starts a
 * new one (a few tens of milliseconds). Retiring is not a restart: no listener hears of it.
 */
import { Worker } from 'node:worker_threads'

export type WorkerReply<T> = { ok: true; value: T } | { ok: false; error: string }

/** What callers of a worker need of it (a WorkerChannel; an in-process stand-in in simulations). */
export interface WorkerLike<Request> {
  call<T>(request: Request, transfer?: ArrayBuffer[]): Promise<T>
  onRestart(listener: () => void): () => void
  close(): Promise<void>
  /** The thread's JS heap in use, in bytes (null while no thread runs, or in-process). */
  heapUsed?(): Promise<number | null>
}

const HEAP_ANSWER_MS = 500

interface Waiter {
  resolve(value: unknown): void
  reject(error: Error): void
}

export interface RetireOptions {
  retireAfterMs: number
  /** True when the thread holds nothing a later call needs (no open session). */
  canRetire(): boolean
}

export class WorkerChannel<Request> implements WorkerLike<Request> {
  private worker: Worker | null = null
  private waiting: Waiter[] = []
  private readonly url: URL
  private readonly restartListeners = new Set<() => void>()
  private readonly retire: RetireOptions | undefined
  private retireTimer: NodeJS.Timeout | undefined

  constructor(url: URL, retire?: RetireOptions) {
    this.url = url
    this.retire = retire
  }

  call<T>(request: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    clearTimeout(this.retireTimer)
    const worker = this.ensureWorker()
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (value: unknown) => void, reject })
      worker.postMessage(request, transfer)
    })
  }

  /** Called when a new worker replaces one that held state (views, sessions). */
  onRestart(listener: () => void): () => void {
    this.restartListeners.add(listener)
    return () => this.restartListeners.delete(listener)
  }

  /** Null too when the thread does not answer within HEAP_ANSWER_MS (busy in a long fold): a scrape never waits on it. */
  async heapUsed(): Promise<number | null> {
    const worker = this.worker
    if (!worker) return null
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), HEAP_ANSWER_MS) })
    const used = worker.getHeapStatistics().then((stats) => stats.used_heap_size, () => null)
    try {
      return await Promise.race([used, late])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.retireTimer)
    const worker = this.worker
    this.worker = null
    await worker?.terminate()
  }

  /** After the last answer: the thread goes once nothing has been asked for `retireAfterMs`. */
  private armRetirement(): void {
    const retire = this.retire
    if (!retire || this.waiting.length > 0) return
    clearTimeout(this.retireTimer)
    this.retireTimer = setTimeout(() => {
      if (this.waiting.length > 0 || !retire.canRetire()) return
      void this.close()
    }, retire.retireAfterMs)
    this.retireTimer.unref()
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(this.url)
    worker.unref()
    worker.on('message', (reply: WorkerReply<unknown>) => {
      const waiter = this.waiting.shift()
      if (reply.ok) waiter?.resolve(reply.value)
      else waiter?.reject(new Error(reply.error))
      this.armRetirement()
    })
    worker.on('error', (error) => {
      if (this.worker === worker) this.failAll(error)
    })
    worker.on('exit', () => {
      if (this.worker !== worker) return
      this.worker = null
      this.failAll(new Error('worker exited'))
      for (const listener of this.restartListeners) listener()
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

/** The worker side: answers each request with `handle`'s result (or its error), in order. */
export function serveRequests<Request>(port: { on(event: 'message', listener: (request: Request) => void): unknown; postMessage(message: unknown, transfer?: ArrayBuffer[]): void }, handle: (request: Request) => { value: unknown; transfer?: ArrayBuffer[] }): void {
  port.on('message', (request: Request) => {
    let reply: WorkerReply<unknown>
    let transfer: ArrayBuffer[] = []
    try {
      const result = handle(request)
      reply = { ok: true, value: result.value }
      transfer = result.transfer ?? []
    } catch (error) {
      reply = { ok: false, error: error instanceof Error ? error.message : String(error) }
    }
    port.postMessage(reply, transfer)
  })
}
