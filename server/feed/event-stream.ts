/**
 * The feed as Server-Sent Events: what is kept after `Last-Event-ID` (or `after`), then new events
 * as they are recorded. Streams wake at once for events recorded on this node; for the other
 * nodes' events, one poll per group and node (the group's newest seq, every STREAM_POLL_MS) wakes
 * the group's streams, so a thousand readers of one group cost one query a second.
 *
 * Membership is checked before every page sent and on every poll, pumping or not (the access
 * cache, which access events from every node clear at once), and an access event removing the
 * member (or deleting the group) ends their streams at once, as it closes their sockets. A
 * revoked stream is destroyed, not ended: ending would still flush what a slow reader has not
 * read yet. A comment every HEARTBEAT_MS keeps proxies and idle timeouts from closing a quiet
 * stream, a slow reader is fed as fast as it reads, and each user may hold at most
 * STREAMS_PER_USER per node.
 */
import { once } from 'node:events'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { AccessEvent } from '../events/bus.ts'
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
  /** Access events from every node (membership removed, group deleted); returns the unsubscribe. */
  onAccess?: (handler: (event: AccessEvent) => void) => () => void
}

/** One open stream: sends what it has not sent yet, one pump at a time. */
class Stream {
  readonly actor: string
  readonly groupId: string
  private readonly deps: Deps
  private readonly out: ServerResponse
  private readonly stop: () => void
  private revoked = false
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

  /** Re-checks membership (also while pumping: a slow reader's pump may wait long on 'drain'); reads on when the group has events past this stream's position (null: unknown, storage away). */
  tick(newest: number | null): void {
    void this.allowed().then((ok) => {
      if (ok && newest !== null && newest > this.position) this.wake()
    })
  }

  /** The member lost access: the stream ends now, unread bytes dropped. */
  revoke(): void {
    this.revoked = true
    this.stop()
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
    if (this.revoked) this.out.destroy()
    else if (!this.out.writableEnded) this.out.end()
  }

  /** Whether the actor may still read; revokes the stream when not. Storage unable to say ends it (the client reconnects with Last-Event-ID). */
  private async allowed(): Promise<boolean> {
    if (this.revoked) return false
    try {
      await this.deps.feed.authorize(this.actor, this.groupId)
      return true
    } catch (error) {
      if (error instanceof HttpError) this.revoke()
      else {
        this.deps.logger.warn({ err: error, groupId: this.groupId }, 'event stream could not check membership; it ends')
        this.stop()
      }
      return false
    }
  }

  /** Waits until the reader has taken what was written (or left); the losing listener is removed, or each page would leave one behind. */
  private async drained(): Promise<void> {
    const done = new AbortController()
    const { signal } = done
    await Promise.race([once(this.out, 'drain', { signal }), once(this.out, 'close', { signal })]).finally(() => done.abort())
  }

  private async pump(): Promise<void> {
    do {
      this.again = false
      for (;;) {
        if (!(await this.allowed())) return // before every page: the last one may have waited long on the reader
        const events = await this.deps.feed.read(this.groupId, this.position, PAGE)
        for (const event of events) this.out.write(frame(event))
        this.position = events.length > 0 ? seqOf(events.at(-1)!, this.groupId) : this.position
        if (this.out.writableNeedDrain) await this.drained()
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
    const stopAppends = deps.recorder.onAppend((groupId) => {
      for (const stream of this.byGroup.get(groupId)?.streams ?? []) stream.wake()
    })
    const stopAccess = deps.onAccess?.((event) => this.accessChanged(event)) ?? (() => undefined)
    this.unsubscribe = () => {
      stopAppends()
      stopAccess()
    }
  }

  /** A removal or deletion ends the streams concerned at once (the event itself says so: the access cache may not have heard it yet). */
  private accessChanged(event: AccessEvent): void {
    const gone = (stream: Stream): boolean => event.type === 'group-deleted' || (event.type === 'membership' && event.role === null && stream.actor === event.userId)
    if (event.type === 'group-changed') return
    for (const stream of [...(this.byGroup.get(event.groupId)?.streams ?? [])]) if (gone(stream)) stream.revoke()
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
