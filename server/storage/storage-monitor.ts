/**
 * Whether storage answers, known ahead of time (so /readyz never waits on it): it is pinged on a
 * schedule, and a ping that fails or has not answered within `timeoutMs` marks it down. A ping
 * still in flight is not repeated (a silent MongoDB would otherwise collect one per tick).
 */
import { BackgroundLoop, type BackgroundFailures } from '../background-loop.ts'
import type { Logger } from '../logger.ts'
import type { Storage } from './types.ts'

export interface StorageMonitorOptions {
  everyMs: number
  timeoutMs: number
  logger: Logger
  failures: BackgroundFailures
}

export class StorageMonitor {
  private readonly storage: Storage
  private readonly options: StorageMonitorOptions
  private readonly loop: BackgroundLoop
  private inFlight: Promise<void> | null = null
  private up = false

  constructor(storage: Storage, options: StorageMonitorOptions) {
    this.storage = storage
    this.options = options
    this.loop = new BackgroundLoop(() => this.probe(), { name: 'storage-ping', everyMs: options.everyMs, runAtStart: true, logger: options.logger, failures: options.failures })
  }

  /** Starts probing; resolves after the first probe. */
  async start(): Promise<void> {
    this.loop.start()
    await this.loop.runNow()
  }

  isUp(): boolean {
    return this.up
  }

  stop(): Promise<void> {
    return this.loop.stop()
  }

  private async probe(): Promise<void> {
    this.inFlight ??= this.storage.ping().finally(() => { this.inFlight = null })
    try {
      await withTimeout(this.inFlight, this.options.timeoutMs)
      this.set(true)
    } catch (error) {
      this.set(false)
      throw error
    }
  }

  private set(up: boolean): void {
    if (this.up === up) return
    this.up = up
    this.options.logger.info({ up }, up ? 'storage answering' : 'storage down')
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
