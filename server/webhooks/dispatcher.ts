/**
 * Sends each webhook its group's events, at least once and in order: a webhook's next event gets
 * a delivery only once the one before is delivered or failed, and a delivery stays pending
 * (stored, so it survives kill -9) until a 2xx answer. Every node runs this loop; each webhook is
 * drained under its lease (the compaction lease machinery: Redis with REDIS_URL, in-process
 * otherwise), so exactly one node at a time sends to an endpoint. The loop polls every
 * WEBHOOK_POLL_MS and wakes at once when this node records an event. A poll lists every active
 * webhook; a wake looks only at the webhooks of the groups that recorded events (an index
 * lookup each), so a busy node does not read every group's webhooks for each event it records.
 *
 * A webhook sends a group's events to whoever registered it, so only while they own the group:
 * before every step its creator's role is looked up (the access cache, cleared at once by access
 * events), and a webhook whose creator is no longer the owner is disabled, for good.
 *
 * Polls only queue webhooks with work; a pool of WEBHOOK_CONCURRENCY workers takes them from the
 * queue as they come, so a slow endpoint holds one worker, never the others or the next poll. A
 * webhook's turn lasts at most TURN_MS of sending (plus the attempt under way); with more to
 * send it goes to the back of the queue, so every webhook with work gets its turn in order.
 *
 * A webhook this node found idle (nothing pending or nothing due, no newer event) is not drained
 * again until something it can see changes: its cursor (another node sent), a manual retry
 * (`nudgedAt`), a due retry, or a newer event in its group (one `lastSeq` per group and round).
 * So idle webhooks cost a listing and a query per group a round, not a lease and three reads each.
 */
import { BackgroundLoop, type BackgroundFailures } from '../background-loop.ts'
import type { CompactionLease } from '../collab/compaction/compaction-lease.ts'
import type { AccessCache } from '../groups/access-cache.ts'
import type { Logger } from '../logger.ts'
import { eventView } from '../feed/event-view.ts'
import type { DeliveryRecord, FeedStore, StoredEvent, WebhookRecord, WebhookStore } from '../storage/feed-types.ts'
import { nextAttemptAt, shouldDisable, type RetryPolicy } from './retry-policy.ts'
import { send, type SendOptions } from './sender.ts'
import { signedHeaders } from './signing.ts'

export interface DispatcherOptions extends SendOptions {
  retry: RetryPolicy
  concurrency: number
  pollMs: number
  retentionMs: number
}

/** Longest a webhook keeps a worker while others wait (one attempt may run past it, up to its timeout). */
const TURN_MS = 1_000
/** Attempts a delivery keeps on record (a day of backoff is about 15). */
const KEPT_ATTEMPTS = 20
/** Groups a wake looks up one by one; more woken in one round list every webhook at once instead. */
const WOKEN_GROUPS_LOOKED_UP = 16
/** Events read at a time while looking for the next one a webhook takes. */
const SCAN_PAGE = 100

/** What this node last saw of a webhook it drained: unchanged and not due, it is skipped. */
interface Seen {
  cursor: number
  nudgedAt: number
  /** When its head delivery falls due; Infinity when nothing is pending. */
  dueAt: number
}

export class WebhookDispatcher {
  private readonly deps: { store: WebhookStore; feed: FeedStore; lease: CompactionLease; access: AccessCache; logger: Logger }
  private readonly options: DispatcherOptions
  private readonly loop: BackgroundLoop
  /** Groups that recorded events since the last round looked; `all`: look at every webhook (a change not tied to one group). */
  private readonly woken = new Set<string>()
  private wokenAll = false
  /** When every active webhook was last listed: a stream of wakes must not keep the full poll from running. */
  private listedAllAt = 0
  /** Ends attempts in flight when the node stops: they stay pending for the next node or start. */
  private readonly stopping = new AbortController()
  private readonly seen = new Map<string, Seen>()
  /** Webhooks waiting for a worker, oldest first; ids in `queued`. */
  private readonly queue: WebhookRecord[] = []
  private readonly queued = new Set<string>()
  /** Webhooks a worker is serving; those in `rerun` were found busy meanwhile and are queued again after. */
  private readonly running = new Set<string>()
  private readonly rerun = new Set<string>()
  private readonly workers = new Set<Promise<void>>()

  constructor(deps: { store: WebhookStore; feed: FeedStore; lease: CompactionLease; access: AccessCache; logger: Logger; failures: BackgroundFailures }, options: DispatcherOptions) {
    this.deps = deps
    this.options = options
    this.loop = new BackgroundLoop(() => this.rounds(), { name: 'webhook-dispatch', everyMs: options.pollMs, retryMs: options.pollMs, logger: deps.logger, failures: deps.failures })
  }

  start(): void {
    this.listedAllAt = Date.now() // the first poll lists them all, WEBHOOK_POLL_MS from now
    this.loop.start()
  }

  /** An event was recorded here (in `groupId`'s feed; none: anywhere): look now rather than at the next poll. */
  wake(groupId?: string): void {
    if (groupId === undefined) this.wokenAll = true
    else this.woken.add(groupId)
    void this.loop.runNow()
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.loop.stop()
    await Promise.all([...this.workers])
  }

  private async rounds(): Promise<void> {
    // Nothing woke it: the timer's poll. Woken: the groups that recorded events, and every
    // webhook too once a poll is due (wakes reset the loop's timer).
    let all = this.woken.size === 0
    do {
      // Looked at every pass: wakes arriving during each round keep this loop (and the run) going.
      all ||= this.wokenAll || Date.now() - this.listedAllAt >= this.options.pollMs
      const groups = [...this.woken]
      this.woken.clear()
      this.wokenAll = false
      await this.round(all || groups.length > WOKEN_GROUPS_LOOKED_UP ? null : groups)
      all = false
    } while (this.woken.size > 0 || this.wokenAll)
  }

  /** Queues the webhooks (of these groups; null: all) that may have work and starts workers for them; does not wait for them. */
  private async round(groups: string[] | null): Promise<void> {
    const listingStarted = Date.now()
    const hooks = groups === null ? await this.deps.store.active() : await this.activeIn(groups)
    if (groups === null) this.listedAllAt = listingStarted // a listing that failed is still due
    for (const hook of await this.busy(hooks, groups === null)) this.enqueue(hook)
    this.fill()
  }

  private async activeIn(groups: string[]): Promise<WebhookRecord[]> {
    const byGroup = await Promise.all(groups.map((groupId) => this.deps.store.byGroup(groupId)))
    return byGroup.flat().filter((hook) => !hook.disabled)
  }

  private enqueue(hook: WebhookRecord): void {
    if (this.running.has(hook.id)) this.rerun.add(hook.id)
    else if (!this.queued.has(hook.id)) {
      this.queued.add(hook.id)
      this.queue.push(hook)
    }
  }

  private fill(): void {
    while (this.workers.size < Math.min(this.options.concurrency, this.queue.length) && !this.stopping.signal.aborted) {
      const worker: Promise<void> = this.work().finally(() => {
        this.workers.delete(worker)
        this.fill() // a webhook queued as this worker finished
      })
      this.workers.add(worker)
    }
  }

  /** Serves queued webhooks one turn each until the queue is empty. */
  private async work(): Promise<void> {
    for (let hook = this.queue.shift(); hook && !this.stopping.signal.aborted; hook = this.queue.shift()) {
      this.queued.delete(hook.id)
      this.running.add(hook.id)
      const more = await this.deps.lease.withLease(`webhook:${hook.id}`, () => this.drain(hook)).catch((error: unknown) => {
        this.deps.logger.warn({ err: error, webhook: hook.id }, 'webhook drain failed; next round retries')
        return false
      })
      this.running.delete(hook.id)
      if (this.rerun.delete(hook.id) || more === true) this.enqueue(hook)
    }
  }

  /** The webhooks that may have work: not seen idle here, or changed since. A full listing also forgets webhooks that are gone. */
  private async busy(hooks: WebhookRecord[], everyOne: boolean): Promise<WebhookRecord[]> {
    if (everyOne) {
      const listed = new Set(hooks.map((h) => h.id))
      for (const id of this.seen.keys()) if (!listed.has(id)) this.seen.delete(id)
    }
    const newest = new Map<string, Promise<number>>()
    const now = Date.now()
    const checked = await Promise.all(hooks.map(async (hook) => {
      const seen = this.seen.get(hook.id)
      if (!seen || seen.cursor !== hook.cursor || seen.nudgedAt !== (hook.nudgedAt ?? 0) || seen.dueAt <= now) return hook
      if (!newest.has(hook.groupId)) newest.set(hook.groupId, this.deps.feed.lastSeq(hook.groupId))
      return (await newest.get(hook.groupId)!) > hook.cursor ? hook : null
    }))
    return checked.filter((hook): hook is WebhookRecord => hook !== null)
  }

  /** Sends what is due, in order, until something is not due yet or the turn is over; returns whether more is due now. */
  private async drain(listed: WebhookRecord): Promise<boolean> {
    this.seen.delete(listed.id)
    const turnEnds = Date.now() + TURN_MS
    while (Date.now() < turnEnds) {
      // Fresh before every step: another node may have moved it on, and a webhook deleted or
      // disabled meanwhile gets nothing more (a copy from the turn's start would go on sending).
      const hook = await this.deps.store.get(listed.groupId, listed.id)
      if (!hook || hook.disabled || !(await this.creatorOwns(hook))) return false
      const head = (await this.deps.store.pending(hook.id))[0] ?? (await this.nextDelivery(hook))
      if (!head || (head.nextAttemptAt ?? 0) > Date.now()) return this.remember(hook, head?.nextAttemptAt ?? Infinity)
      if (!(await this.attempt(hook, head))) return this.remember(hook, 0) // look again next round, which learns when
    }
    return !this.stopping.signal.aborted
  }

  /** Whether the webhook's creator still owns its group; disables it when not. A deleted group's webhook goes on (its group.deleted event is still due). */
  private async creatorOwns(hook: WebhookRecord): Promise<boolean> {
    const found = await this.deps.access.get(hook.groupId, hook.createdBy)
    if (found === null || found.role === 'owner') return true
    const reason = 'its creator is no longer the group\'s owner; the owner may register it again'
    await this.deps.store.setState(hook.groupId, hook.id, { disabled: { at: Date.now(), reason } })
    this.deps.logger.info({ webhook: hook.id, groupId: hook.groupId, createdBy: hook.createdBy }, 'webhook disabled: its creator no longer owns the group')
    return false
  }

  /** Notes what was seen of an idle webhook (nothing more is due now: returns false). */
  private remember(hook: WebhookRecord, dueAt: number): false {
    this.seen.set(hook.id, { cursor: hook.cursor, nudgedAt: hook.nudgedAt ?? 0, dueAt })
    return false
  }

  /**
   * The delivery of the next event this webhook takes after its cursor, made pending now. The
   * delivery is stored before the cursor moves past its event: a write failing between the two
   * leaves the event to be found again (and its delivery, keyed by event, is not made twice),
   * never skipped.
   */
  private async nextDelivery(hook: WebhookRecord): Promise<DeliveryRecord | null> {
    for (;;) {
      const events = await this.deps.feed.list(hook.groupId, { after: hook.cursor, limit: SCAN_PAGE, since: 0 })
      if (events.length === 0) return null
      const wanted = events.find((e) => hook.events === null || hook.events.includes(e.type))
      const made = wanted ? await this.makeDelivery(hook, wanted) : null
      const reached = wanted?.seq ?? events.at(-1)!.seq
      await this.deps.store.setState(hook.groupId, hook.id, { cursor: reached })
      hook.cursor = reached
      if (made) return made // else none in this page, or made before (then sent or pending already)
    }
  }

  /** Stores the event's delivery as pending; null when it exists already (made before a failure or crash). */
  private async makeDelivery(hook: WebhookRecord, event: StoredEvent): Promise<DeliveryRecord | null> {
    const id = `${hook.id}.${event.seq}`
    if (await this.deps.store.getDelivery(hook.id, id)) return null
    const delivery: DeliveryRecord = {
      id, webhookId: hook.id, groupId: hook.groupId, seq: event.seq, eventId: eventView(event).id, eventType: event.type,
      status: 'pending', attempts: [], nextAttemptAt: Date.now(), createdAt: Date.now(), firstAttemptAt: null,
    }
    await this.deps.store.putDelivery(delivery)
    return delivery
  }

  /** One attempt; returns whether the webhook may go on to its next delivery now. */
  private async attempt(hook: WebhookRecord, delivery: DeliveryRecord): Promise<boolean> {
    const [event] = await this.deps.feed.list(hook.groupId, { after: delivery.seq - 1, limit: 1, since: 0 })
    const now = Date.now()
    if (!event || event.seq !== delivery.seq) {
      await this.deps.store.putDelivery({ ...delivery, status: 'failed', nextAttemptAt: null, attempts: [...delivery.attempts, { at: now, status: null, error: 'the event is no longer kept', ms: 0 }].slice(-KEPT_ATTEMPTS) })
      return true
    }
    const body = JSON.stringify(eventView(event))
    const result = await send(hook.url, signedHeaders(hook.secret, delivery.eventId, body), body, { ...this.options, signal: this.stopping.signal })
    if (this.stopping.signal.aborted) return false // cut by shutdown: not the receiver's failure
    const attempts = [...delivery.attempts, { at: now, ...result }].slice(-KEPT_ATTEMPTS)
    if (result.error === null) {
      await this.deps.store.putDelivery({ ...delivery, status: 'delivered', attempts, nextAttemptAt: null })
      if (hook.failingSince !== null) await this.deps.store.setState(hook.groupId, hook.id, { failingSince: null })
      hook.failingSince = null
      await this.afterDelivered(hook, delivery)
      return true
    }
    return this.failed(hook, delivery, attempts, now)
  }

  private async failed(hook: WebhookRecord, delivery: DeliveryRecord, attempts: DeliveryRecord['attempts'], now: number): Promise<boolean> {
    const firstAttemptAt = delivery.firstAttemptAt ?? now
    const retryAt = nextAttemptAt(this.options.retry, attempts.length, firstAttemptAt, now)
    await this.deps.store.putDelivery({ ...delivery, attempts, firstAttemptAt, status: retryAt === null ? 'failed' : 'pending', nextAttemptAt: retryAt })
    const failingSince = hook.failingSince ?? now
    hook.failingSince = failingSince
    if (shouldDisable(this.options.retry, failingSince, now)) {
      const reason = `deliveries failed for ${Math.round((now - failingSince) / 60_000)} min without a success; last: ${attempts.at(-1)?.error ?? 'unknown'}`
      await this.deps.store.setState(hook.groupId, hook.id, { failingSince, disabled: { at: now, reason } })
      this.deps.logger.warn({ webhook: hook.id, groupId: hook.groupId, reason }, 'webhook disabled')
      return false
    }
    await this.deps.store.setState(hook.groupId, hook.id, { failingSince })
    if (retryAt === null && delivery.eventType === 'group.deleted') await this.afterDelivered(hook, delivery)
    return retryAt === null // failed for good: the next event may go
  }

  /** The group's last event has reached this webhook: it and (when it was the last) the feed go. */
  private async afterDelivered(hook: WebhookRecord, delivery: DeliveryRecord): Promise<void> {
    if (delivery.eventType === 'group.deleted') {
      await this.deps.store.delete(hook.groupId, hook.id)
      if ((await this.deps.store.byGroup(hook.groupId)).length === 0) await this.deps.feed.deleteGroup(hook.groupId)
      return
    }
    if (delivery.seq % 100 === 0) await this.deps.store.pruneDeliveries(hook.id, Date.now() - this.options.retentionMs)
  }
}
