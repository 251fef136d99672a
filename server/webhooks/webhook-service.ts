/**
 * Owners manage their group's webhooks: register (the URL is checked for SSRF and the secret
 * shown once), list, delete, read deliveries, retry one by hand. At most MAX_WEBHOOKS_PER_GROUP:
 * the count and the insert run under a per-group lock (exact on one node, as the other count quotas).
 */
import { newId } from '../../shared/ids.ts'
import { badRequest, conflict, notFound } from '../errors.ts'
import type { AccessCache } from '../groups/access-cache.ts'
import { requireRole } from '../groups/guard.ts'
import { quotaExceeded } from '../groups/quotas.ts'
import type { DeliveryRecord, FeedStore, WebhookRecord, WebhookStore } from '../storage/feed-types.ts'
import type { GroupRecord } from '../storage/records.ts'
import { KeyedMutex } from '../storage/keyed-mutex.ts'
import type { Logger } from '../logger.ts'
import { checkHost, hostOf, TargetRefused, urlProblem } from './address-guard.ts'
import { newSecret } from './signing.ts'

/** A registration waits this long for its host to resolve (a hostile name server must not hold the request). */
const LOOKUP_DEADLINE_MS = 5_000
/**
 * The one answer to a refused host, whatever the reason: what a name resolves to, or that it does
 * not resolve, would let any owner map the internal DNS. The reason is logged.
 */
const REFUSED = `url refused: its host must resolve within ${LOOKUP_DEADLINE_MS / 1000} s, and only to public addresses (or be in WEBHOOK_ALLOWED_HOSTS)`

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

export interface WebhookView {
  id: string
  url: string
  events: string[] | null
  createdAt: number
  createdBy: string
  failingSince: number | null
  disabled: { at: number; reason: string } | null
}

export interface WebhookServiceDeps {
  access: AccessCache
  store: WebhookStore
  feed: FeedStore
  /** Looks at this group's webhooks now. */
  wake: (groupId: string) => void
  logger: Logger
}

export interface WebhookLimits {
  maxPerGroup: number
  allowedHosts: readonly string[]
}

export class WebhookService {
  private readonly deps: WebhookServiceDeps
  private readonly limits: WebhookLimits
  /** Registrations of one group, one at a time from the count to the insert (the URL check, slow, stays outside). */
  private readonly registering = new KeyedMutex()

  constructor(deps: WebhookServiceDeps, limits: WebhookLimits) {
    this.deps = deps
    this.limits = limits
  }

  async create(actor: string, groupId: string, input: { url: string; events?: string[] }): Promise<WebhookView & { secret: string }> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    await this.checkTarget(input.url)
    const events = input.events === undefined ? null : [...new Set(input.events)]
    const record = await this.registering.run(groupId, async () => {
      if ((await this.deps.store.byGroup(groupId)).length >= this.limits.maxPerGroup) {
        throw quotaExceeded(`a group has at most ${this.limits.maxPerGroup} webhooks`)
      }
      // A new webhook starts at the feed's end: it receives what happens from now on.
      const made: WebhookRecord = {
        id: newId(), groupId, url: input.url, events, secret: newSecret(), createdAt: Date.now(), createdBy: actor,
        cursor: await this.deps.feed.lastSeq(groupId), failingSince: null, disabled: null,
      }
      await this.deps.store.create(made)
      return made
    })
    return { ...view(record), secret: record.secret }
  }

  async list(actor: string, groupId: string): Promise<WebhookView[]> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    return (await this.deps.store.byGroup(groupId)).map(view)
  }

  async delete(actor: string, groupId: string, id: string): Promise<void> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    if (!(await this.deps.store.delete(groupId, id))) throw notFound('no such webhook')
  }

  async deliveries(actor: string, groupId: string, id: string, limit: number): Promise<DeliveryRecord[]> {
    await this.owned(actor, groupId, id)
    return this.deps.store.deliveries(id, limit)
  }

  /** Tries a delivery again soon, with a fresh run of retries; re-enables a disabled webhook (not one whose creator no longer owns the group). */
  async retry(actor: string, groupId: string, id: string, deliveryId: string): Promise<DeliveryRecord> {
    const { hook, group } = await this.owned(actor, groupId, id)
    // Disabled because its creator handed the group over: re-enabling would send the events to them again.
    if (hook.disabled && hook.createdBy !== group.ownerId) throw conflict('the webhook\'s creator no longer owns the group; register it again')
    const delivery = await this.deps.store.getDelivery(id, deliveryId)
    if (!delivery) throw notFound('no such delivery')
    if (delivery.status === 'pending' && !hook.disabled) throw conflict('the delivery is pending already')
    const again: DeliveryRecord = { ...delivery, status: 'pending', nextAttemptAt: Date.now(), firstAttemptAt: null }
    await this.deps.store.putDelivery(again)
    await this.deps.store.setState(groupId, id, { nudgedAt: Date.now(), ...(hook.disabled && { disabled: null, failingSince: null }) })
    this.deps.wake(groupId)
    return again
  }

  /**
   * After a group is deleted (its `group.deleted` event recorded): webhooks that do not take that
   * event go now; the others go once it reached them (dispatcher.ts); a group without webhooks
   * loses its feed at once.
   */
  async groupDeleted(groupId: string): Promise<void> {
    for (const hook of await this.deps.store.byGroup(groupId)) {
      if (hook.disabled || (hook.events !== null && !hook.events.includes('group.deleted'))) await this.deps.store.delete(groupId, hook.id)
    }
    if ((await this.deps.store.byGroup(groupId)).length === 0) await this.deps.feed.deleteGroup(groupId)
    else this.deps.wake(groupId)
  }

  private async owned(actor: string, groupId: string, id: string): Promise<{ hook: WebhookRecord; group: GroupRecord }> {
    const { group } = await requireRole(this.deps.access, groupId, actor, 'owner')
    const hook = await this.deps.store.get(groupId, id)
    if (!hook) throw notFound('no such webhook')
    return { hook, group }
  }

  private async checkTarget(raw: string): Promise<void> {
    const problem = urlProblem(raw)
    if (problem) throw badRequest(`url ${problem}`)
    const host = hostOf(new URL(raw))
    try {
      await withDeadline(checkHost(host, this.limits.allowedHosts), LOOKUP_DEADLINE_MS)
    } catch (error) {
      const reason = error instanceof TargetRefused ? error.message : `does not resolve: ${(error as Error).message}`
      this.deps.logger.info({ host, reason }, 'webhook target refused')
      throw badRequest(REFUSED)
    }
  }
}

function view(record: WebhookRecord): WebhookView {
  return { id: record.id, url: record.url, events: record.events, createdAt: record.createdAt, createdBy: record.createdBy, failingSince: record.failingSince, disabled: record.disabled }
}
