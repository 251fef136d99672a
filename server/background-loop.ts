/**
 * Work the node does on its own (sweeps, purges, liveness probes, retries) runs here, never as a
 * bare `setInterval(() => void task())`: a task that throws or rejects is caught, logged with
 * backoff (the 1st, 2nd, 4th, 8th… failure in a row, so an outage does not flood the log),
 * counted by name for /metrics, and retried. Runs never overlap; `stop` waits for the current one.
 */
import type { Logger } from './logger.ts'

/** Failures of background work by name (`collab_background_failures_total{loop}`). */
export class BackgroundFailures {
  private readonly counts = new Map<string, number>()

  record(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries()
  }
}

export interface LoopOptions {
  /** Names the loop in logs and metrics. */
  name: string
  /** Pause between the end of one run and the start of the next. */
  everyMs: number
  /** After a failure, retry this soon, doubling per failure in a row up to `everyMs` (default: `everyMs`). */
  retryMs?: number
  /** Run once right away instead of after the first pause. */
  runAtStart?: boolean
  logger: Logger
  failures: BackgroundFailures
}

export class BackgroundLoop {
  private readonly task: () => Promise<void>
  private readonly options: LoopOptions
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | null = null
  private failuresInARow = 0
  private stopped = false

  constructor(task: () => Promise<void>, options: LoopOptions) {
    this.task = task
    this.options = options
  }

  /** Starts the loop; returns it for chaining. */
  start(): this {
    this.schedule(this.options.runAtStart ? 0 : this.options.everyMs)
    return this
  }

  /** Runs the task now (unless a run is under way), then keeps the schedule. */
  runNow(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    clearTimeout(this.timer)
    return this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.run(), delayMs)
    this.timer.unref()
  }

  private run(): Promise<void> {
    this.running ??= this.runOnce().finally(() => {
      this.running = null
      this.schedule(this.nextDelayMs())
    })
    return this.running
  }

  private async runOnce(): Promise<void> {
    try {
      await this.task()
      if (this.failuresInARow > 0) this.options.logger.info({ loop: this.options.name, failures: this.failuresInARow }, 'background task recovered')
      this.failuresInARow = 0
    } catch (error) {
      this.failuresInARow++
      this.options.failures.record(this.options.name)
      if (isPowerOfTwo(this.failuresInARow)) {
        this.options.logger.warn({ err: error, loop: this.options.name, failures: this.failuresInARow }, 'background task failed; will retry')
      }
    }
  }

  private nextDelayMs(): number {
    const { everyMs, retryMs } = this.options
    if (this.failuresInARow === 0 || retryMs === undefined) return everyMs
    return Math.min(everyMs, retryMs * 2 ** (this.failuresInARow - 1))
  }
}

function isPowerOfTwo(n: number): boolean {
  return (n & (n - 1)) === 0
}
