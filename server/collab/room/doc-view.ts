/**
 * A room's document materialized on demand, in the doc worker, for server-side reads and writes
 * (REST chat, canvas.svg). Built from the room's bytes at first use, fed every update the room
 * accepts while it lives, dropped when unused (or when its backlog grows past a bound).
 *
 * Operations run one at a time, and an edit holds the line until its update is logged (or has
 * failed, which drops the view): nothing read through a view was ever unlogged.
 */
import type { DocWorker } from '../workers/doc-worker-client.ts'
import type { ViewAnswer, ViewOp } from '../workers/view-ops.ts'

export interface DocViewOptions {
  /** A view unused this long is dropped. */
  idleMs: number
  /** Updates waiting to be fed beyond this many bytes drop the view instead. */
  maxBacklogBytes: number
}

export class DocView {
  private open = false
  private loading = false
  /** Bumped whenever the worker's copy is dropped, so an op that was in flight does not revive it. */
  private generation = 0
  private backlog: Uint8Array[] = []
  private backlogBytes = 0
  private line: Promise<unknown> = Promise.resolve()
  private idleTimer: NodeJS.Timeout | undefined
  private closed = false
  private readonly room: string
  private readonly worker: DocWorker
  private readonly contents: () => Uint8Array[]
  private readonly options: DocViewOptions

  constructor(room: string, worker: DocWorker, contents: () => Uint8Array[], options: DocViewOptions) {
    this.room = room
    this.worker = worker
    this.contents = contents
    this.options = options
  }

  /** The room accepted an update: a live (or loading) view will apply it before its next op. */
  feed(update: Uint8Array): void {
    if (!this.open && !this.loading) return
    this.backlog.push(update)
    this.backlogBytes += update.length
    if (this.backlogBytes > this.options.maxBacklogBytes) this.forget()
  }

  /**
   * Runs `op`. With `commit`, the op is an edit: its update is handed to `commit` (which logs it)
   * before the next op may run; a failed commit drops the view.
   */
  run<K extends ViewOp['kind']>(op: Extract<ViewOp, { kind: K }>, commit?: (answer: ViewAnswer<K>) => Promise<void>): Promise<ViewAnswer<K>> {
    const turn = this.line.then(() => this.runNow(op, commit))
    this.line = turn.catch(() => undefined)
    return turn
  }

  /** The worker that held it died: rebuild at next use. */
  lost(): void {
    this.open = false
    this.generation++
    this.clearBacklog()
  }

  close(): void {
    this.closed = true
    clearTimeout(this.idleTimer)
    if (this.open || this.loading) void this.worker.drop(this.room).catch(() => undefined)
    this.lost()
  }

  private async runNow<K extends ViewOp['kind']>(op: Extract<ViewOp, { kind: K }>, commit?: (answer: ViewAnswer<K>) => Promise<void>): Promise<ViewAnswer<K>> {
    if (this.closed) throw new Error(`room ${this.room} is closed`)
    clearTimeout(this.idleTimer)
    const load = this.open ? null : this.startLoading()
    const feed = this.takeBacklog()
    const generation = this.generation
    let answer: ViewAnswer<K>
    try {
      answer = await this.worker.view(this.room, load, feed, op)
      if (generation === this.generation) this.open = true
    } catch (error) {
      this.forget()
      throw error
    } finally {
      this.loading = false
    }
    if (commit) await commit(answer).catch((error: unknown) => { this.forget(); throw error })
    this.armIdle()
    return answer
  }

  private startLoading(): Uint8Array[] {
    this.loading = true
    this.clearBacklog() // the contents include it
    return this.contents()
  }

  private takeBacklog(): Uint8Array[] {
    const taken = this.backlog
    this.clearBacklog()
    return taken
  }

  private clearBacklog(): void {
    this.backlog = []
    this.backlogBytes = 0
  }

  private forget(): void {
    const held = this.open || this.loading
    this.lost()
    if (held) void this.worker.drop(this.room).catch(() => undefined)
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => this.forget(), this.options.idleMs)
    this.idleTimer.unref()
  }
}
