/**
 * The feed as Server-Sent Events: what is kept after `Last-Event-ID` (or `after`), then new events
 * as they are recorded. Streams wake at once for events recorded on this node; for the other
 * nodes' events, one poll per group and node (the group's newest seq, every STREAM_POLL_MS) wakes
 * the group's streams, so a thousand readers of one group cost one query a second. Each poll also
 * re-checks every stream's membership (the access cache: a removed member's stream ends). A
 * comment every HEARTBEAT_MS keeps proxies and idle timeouts from closing a quiet stream, a slow
 * reader is fed as fast as it reads, and each user may hold at most STREAMS_PER_USER per node.
 */
import { once } from 'node:events'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Logger } from '../logger.ts'
import { HttpError } from '../../shared/http-error.ts'
import type { FeedStore } from '../storage/feed-types.ts'
import type { EventView } from './event-view.ts'
import type { FeedRecorder } from './feed-recorder.ts'
import type { FeedService } from './feed-service.ts'

const STREAM_POLL_MS = 1_000
const HEARTBEAT_MS = 15_000
const STREAMS_PER_USER = 4
const PAGE = 100

interface Deps {
  feed: FeedService
  store: FeedStore
  recorder: FeedRecorder
  logger: Logger
}

/** One open stream: sends what it has not sent yet, one pump at a time. */
class Stream {
  readonly actor: string
  readonly groupId: string
  private readonly deps: Deps
  private readonly out: ServerResponse
  private readonly stop: () => void
  private position: number
  private pumping: Promise<void> | null = null
  private again = false
  private readonly heartbeat: NodeJS.Timeout

  constructor(deps: Deps, where: { actor: string; groupId: string; after: number }, out: ServerResponse, stop: () => void) {
    this.deps = deps
    this.actor = where.actor
    this.groupId = where.groupId
    this.out = out
    this.stop = stop
    this.position = where.after
    this.heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  /** Re-checks membership; reads on when the group has events past this stream's position (null: unknown, storage away). */
  tick(newest: number | null): void {
    if (newest === null || newest <= this.position) void this.deps.feed.authorize(this.actor, this.groupId).catch(() => this.stop())
    else this.wake()
  }

  wake(): void {
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = this.pump().catch((error: unknown) => {
      if (!(error instanceof HttpError)) this.deps.logger.warn({ err: error, groupId: this.groupId }, 'event stream could not read the feed; it ends')
      this.stop()
    }).finally(() => {
      this.pumping = null
    })
  }

  close(): void {
    clearInterval(this.heartbeat)
    if (!this.out.writableEnded) this.out.end()
  }

  private async pump(): Promise<void> {
    do {
      this.again = false
      await this.deps.feed.authorize(this.actor, this.groupId)
      for (;;) {
        const events = await this.deps.feed.read(this.groupId, this.position, PAGE)
        for (const event of events) this.out.write(frame(event))
        this.position = events.length > 0 ? seqOf(events.at(-1)!, this.groupId) : this.position
        if (this.out.writableNeedDrain) await Promise.race([once(this.out, 'drain'), once(this.out, 'close')])
        if (events.length < PAGE || this.out.writableEnded || this.out.destroyed) break
      }
    } while (this.again)
  }
}

export class EventStreams {
  private readonly deps: Deps
  private readonly byUser = new Map<string, Set<Stream>>()
  private readonly byGroup = new Map<string, { streams: Set<Stream>; poll: NodeJS.Timeout }>()
  private readonly unsubscribe: () => void

  constructor(deps: Deps) {
    this.deps = deps
    this.unsubscribe = deps.recorder.onAppend((groupId) => {
      for (const stream of this.byGroup.get(groupId)?.streams ?? []) stream.wake()
    })
  }

  /** Checks access and the user's stream budget before anything is written (errors stay JSON). */
  async admit(actor: string, groupId: string, after: string | undefined): Promise<number> {
    await this.deps.feed.authorize(actor, groupId)
    const seq = this.deps.feed.afterSeq(groupId, after)
    if ((this.byUser.get(actor)?.size ?? 0) >= STREAMS_PER_USER) throw new HttpError(429, 'rate_limited', `at most ${STREAMS_PER_USER} event streams per user; close one`, 5)
    return seq
  }

  /** Streams until the client goes, the member is removed, or `closeAll`. */
  serve(actor: string, groupId: string, after: number, out: ServerResponse, headers: OutgoingHttpHeaders = {}): void {
    out.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    out.write(': stream open\n\n')
    const stream: Stream = new Stream(this.deps, { actor, groupId, after }, out, () => this.remove(stream))
    this.add(stream)
    out.on('close', () => this.remove(stream))
    stream.wake()
  }

  /** Shutdown: every stream ends (clients reconnect elsewhere with Last-Event-ID). */
  closeAll(): void {
    this.unsubscribe()
    for (const streams of [...this.byUser.values()]) for (const stream of [...streams]) this.remove(stream)
  }

  private add(stream: Stream): void {
    const mine = this.byUser.get(stream.actor) ?? new Set()
    mine.add(stream)
    this.byUser.set(stream.actor, mine)
    let group = this.byGroup.get(stream.groupId)
    if (!group) {
      const poll = setInterval(() => void this.poll(stream.groupId), STREAM_POLL_MS)
      poll.unref()
      group = { streams: new Set(), poll }
      this.byGroup.set(stream.groupId, group)
    }
    group.streams.add(stream)
  }

  private remove(stream: Stream): void {
    stream.close()
    const mine = this.byUser.get(stream.actor)
    mine?.delete(stream)
    if (mine?.size === 0) this.byUser.delete(stream.actor)
    const group = this.byGroup.get(stream.groupId)
    group?.streams.delete(stream)
    if (group?.streams.size === 0) {
      clearInterval(group.poll)
      this.byGroup.delete(stream.groupId)
    }
  }

  private async poll(groupId: string): Promise<void> {
    let newest: number | null = null
    try {
      newest = await this.deps.store.lastSeq(groupId)
    } catch (error) {
      this.deps.logger.warn({ err: error, groupId }, 'event streams could not poll the feed')
    }
    for (const stream of this.byGroup.get(groupId)?.streams ?? []) stream.tick(newest)
  }
}

function frame(event: EventView): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
}

function seqOf(event: EventView, groupId: string): number {
  return Number(event.id.slice(groupId.length + 1))
}
