/**
 * A room's subscription to its log: entries arrive in log order (this node's own among them: the
 * room core knows them by their tag) and go to the core, which alone moves the position.
 *
 * When entries were trimmed before this node read them (it was cut off longer than entries are
 * kept), the room catches up from the stored snapshot (its sockets get what they lacked) and the
 * follower resumes after the position it reached. A failed catch-up is retried until it works or
 * the room closes; catch-ups follow each other no faster than once per RETRY_MS.
 */
import type { LogId } from '../../log/log-id.ts'
import type { LogEntry, Subscription, UpdateLog } from '../../log/types.ts'
import type { Logger } from '../../logger.ts'

const RETRY_MS = 1_000

export interface FollowerDeps {
  room: string
  log: UpdateLog
  logger: Logger
  /** Where to start reading after. */
  position(): LogId
  /** Entries read, in log order. */
  read(entries: LogEntry[]): void
  /** Catch up from the snapshot after a gap; resolves with the position to resume after. */
  catchUp(): Promise<LogId>
}

export class RoomFollower {
  private subscription: Subscription | null = null
  private stopped = false
  private retryTimer: NodeJS.Timeout | undefined
  private lastCatchUp = 0
  private readonly deps: FollowerDeps

  constructor(deps: FollowerDeps) {
    this.deps = deps
  }

  start(): void {
    this.subscription = this.deps.log.subscribe(this.deps.room, this.deps.position(), {
      entries: (_room, entries) => this.deps.read(entries),
      gap: () => this.onGap(),
    })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.subscription?.close()
    this.subscription = null
  }

  private onGap(): void {
    const wait = this.lastCatchUp + RETRY_MS - Date.now()
    if (wait > 0) return this.retryIn(wait)
    this.lastCatchUp = Date.now()
    this.deps.logger.warn({ room: this.deps.room, position: this.deps.position() }, 'log gap; catching up from the snapshot')
    this.deps.catchUp().then((position) => {
      if (!this.stopped) this.subscription?.resume(position)
    }, (error: unknown) => {
      if (this.stopped) return
      this.deps.logger.error({ err: error, room: this.deps.room }, 'catching up after a log gap failed; retrying')
      this.retryIn(RETRY_MS)
    })
  }

  private retryIn(ms: number): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.onGap(), ms)
    this.retryTimer.unref()
  }
}
