/**
 * The feed as Server-Sent Events: what is kept after `Last-Event-ID` (or `after`), then new events
 * as they are recorded. A stream wakes at once for events recorded on this node and polls storage
 * every STREAM_POLL_MS for the others'; it re-checks membership as it polls (a removed member's
 * stream ends), sends a comment every HEARTBEAT_MS so proxies and idle timeouts leave it open, and
 * each user may hold at most STREAMS_PER_USER of them per node.
 */
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { Logger } from '../logger.ts'
import { HttpError } from '../../shared/http-error.ts'
import type { EventView } from './event-view.ts'
import type { FeedRecorder } from './feed-recorder.ts'
import type { FeedService } from './feed-service.ts'

const STREAM_POLL_MS = 1_000
const HEARTBEAT_MS = 15_000
const STREAMS_PER_USER = 4
const PAGE = 100

export class EventStreams {
  private readonly feed: FeedService
  private readonly recorder: FeedRecorder
  private readonly logger: Logger
  private readonly open = new Map<string, Set<() => void>>()

  constructor(deps: { feed: FeedService; recorder: FeedRecorder; logger: Logger }) {
    this.feed = deps.feed
    this.recorder = deps.recorder
    this.logger = deps.logger
  }

  /** Checks access and the user's stream budget before anything is written (errors stay JSON). */
  async admit(actor: string, groupId: string, after: string | undefined): Promise<number> {
    await this.feed.authorize(actor, groupId)
    const seq = this.feed.afterSeq(groupId, after)
    if ((this.open.get(actor)?.size ?? 0) >= STREAMS_PER_USER) throw new HttpError(429, 'rate_limited', `at most ${STREAMS_PER_USER} event streams per user; close one`, 5)
    return seq
  }

  /** Streams until the client goes, the member is removed, or `closeAll`. */
  serve(actor: string, groupId: string, after: number, out: ServerResponse): void {
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    out.write(': stream open\n\n')
    let position = after
    let timer: NodeJS.Timeout | undefined
    let pumping: Promise<void> | null = null
    let again = false
    const streams = this.open.get(actor) ?? new Set()
    this.open.set(actor, streams)
    const stop = (): void => {
      clearTimeout(timer)
      clearInterval(heartbeat)
      unsubscribe()
      streams.delete(stop)
      if (streams.size === 0) this.open.delete(actor)
      if (!out.writableEnded) out.end()
    }
    streams.add(stop)
    const pump = async (): Promise<void> => {
      do {
        again = false
        await this.feed.authorize(actor, groupId)
        for (;;) {
          const events = await this.feed.read(groupId, position, PAGE)
          for (const event of events) out.write(frame(event))
          position = events.at(-1) ? Number(events.at(-1)!.id.slice(groupId.length + 1)) : position
          // A slow reader far behind is fed as fast as it reads, not buffered without bound.
          if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), once(out, 'close')])
          if (events.length < PAGE || out.writableEnded || out.destroyed) break
        }
      } while (again)
    }
    const wake = (): void => {
      if (out.writableEnded) return
      if (pumping) {
        again = true
        return
      }
      clearTimeout(timer)
      pumping = pump().catch((error: unknown) => {
        if (!(error instanceof HttpError)) this.logger.warn({ err: error, groupId }, 'event stream could not read the feed; it ends')
        stop()
      }).finally(() => {
        pumping = null
        if (!out.writableEnded) timer = setTimeout(wake, STREAM_POLL_MS)
      })
    }
    const unsubscribe = this.recorder.onAppend((group) => {
      if (group === groupId) wake()
    })
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS)
    heartbeat.unref()
    out.on('close', stop)
    wake()
  }

  /** Shutdown: every stream ends (clients reconnect elsewhere with Last-Event-ID). */
  closeAll(): void {
    for (const streams of [...this.open.values()]) for (const stop of [...streams]) stop()
  }
}

function frame(event: EventView): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
}
