/**
 * A room's subscription to its log: other nodes' entries arrive here in log order (this node's
 * own are skipped, the room kept them when they were logged), and `position` moves with them.
 *
 * When entries were trimmed before this node read them (it was cut off longer than entries are
 * kept), the room reloads the stored snapshot and log, sends its sockets what they lacked (a diff
 * against the room's state vector, computed in the doc worker), takes the new base and resumes
 * after it. A failed reload is retried until it works or the room closes.
 */
import { compareLogIds, type LogId } from '../log/log-id.ts'
import type { LogEntry, Subscription } from '../log/types.ts'
import { updateFrame } from './outbound.ts'
import { infoOrSkip } from './room-loader.ts'
import type { Room } from './room.ts'
import type { UpdateInfo } from './update-info.ts'

const RELOAD_RETRY_MS = 1_000

export class RoomFollower {
  private pos: LogId
  /** This node's entries ahead of `position`: kept already, skipped when they come by. */
  private readonly own = new Set<LogId>()
  private subscription: Subscription | null = null
  private stopped = false
  private retryTimer: NodeJS.Timeout | undefined
  private readonly room: Room

  constructor(room: Room, position: LogId) {
    this.room = room
    this.pos = position
  }

  get position(): LogId {
    return this.pos
  }

  start(): void {
    this.subscription = this.room.deps.log.subscribe(this.room.name, this.pos, { entries: this.onEntries, gap: this.onGap })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.subscription?.close()
    this.subscription = null
  }

  /** This node logged an entry (its updates are kept already). */
  ownEntry(id: LogId): void {
    if (compareLogIds(id, this.pos) > 0) this.own.add(id)
  }

  infoOf(update: Uint8Array): UpdateInfo | null {
    return infoOrSkip(update, this.room.name, this.room.deps.logger)
  }

  private readonly onEntries = (_room: string, entries: LogEntry[]): void => {
    const fresh: LogEntry[] = []
    for (const entry of entries) {
      if (compareLogIds(entry.id, this.pos) <= 0) continue
      this.pos = entry.id
      if (!this.own.delete(entry.id)) fresh.push(entry)
    }
    if (fresh.length > 0) this.room.keepRemote(fresh)
  }

  private readonly onGap = (): void => {
    this.room.deps.logger.warn({ room: this.room.name, position: this.pos }, 'log gap; reloading the room from its snapshot')
    this.recover().catch((error: unknown) => {
      if (this.stopped) return
      this.room.deps.logger.error({ err: error, room: this.room.name }, 'reload after a log gap failed; retrying')
      this.retryTimer = setTimeout(this.onGap, RELOAD_RETRY_MS)
      this.retryTimer.unref()
    })
  }

  private async recover(): Promise<void> {
    const before = this.room.bytes.stateVector()
    const loaded = await this.room.deps.reload(this.room.name)
    if (this.stopped) return
    const lacked = await this.room.deps.worker.diff([...loaded.base.pieces, ...loaded.since.map((a) => a.update)], before)
    if (this.stopped) return
    this.room.bytes.rebase(loaded.base)
    const unseen = loaded.since.filter((a) => compareLogIds(a.id, this.pos) > 0 && !this.own.has(a.id))
    for (const accepted of unseen) this.room.bytes.add(accepted)
    for (const diff of lacked) this.room.broadcast(updateFrame(diff), null)
    if (compareLogIds(loaded.watermark, this.pos) > 0) this.pos = loaded.watermark
    for (const id of this.own) if (compareLogIds(id, this.pos) <= 0) this.own.delete(id)
    this.room.gates.build() // the new base holds content the index never saw
    this.room.rebased()
    this.subscription?.resume(this.pos)
  }
}
