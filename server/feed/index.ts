/** Wires the change feed and webhooks (issue 22) from storage, the cluster's lease and the config. */
import type { BackgroundFailures } from '../background-loop.ts'
import type { CompactionLease } from '../collab/compaction/compaction-lease.ts'
import { durationMs, type Config } from '../config.ts'
import type { EventBus } from '../events/bus.ts'
import type { AccessCache } from '../groups/access-cache.ts'
import type { Logger } from '../logger.ts'
import type { Services } from '../services.ts'
import type { Storage } from '../storage/types.ts'
import { WebhookDispatcher } from '../webhooks/dispatcher.ts'
import { WebhookService } from '../webhooks/webhook-service.ts'
import { CompactionFeed } from './compaction-feed.ts'
import { EventStreams } from './event-stream.ts'
import { FeedRecorder } from './feed-recorder.ts'
import { FeedService } from './feed-service.ts'
import { recordServiceEvents } from './service-events.ts'

export interface Feed {
  recorder: FeedRecorder
  compaction: CompactionFeed
  /** Set by `serve` once the services exist. */
  feed?: FeedService
  streams?: EventStreams
  webhooks?: WebhookService
  dispatcher?: WebhookDispatcher
}

/** The part compaction needs, made before the collaboration core. */
export function createFeed(config: Config, storage: Storage, logger: Logger): Feed {
  const recorder = new FeedRecorder({ store: storage.feed, retentionMs: durationMs(config.eventRetention), logger })
  return { recorder, compaction: new CompactionFeed({ store: storage.feed, recorder }) }
}

/** The readers, the webhooks and the REST events, once the services exist. */
export function serveFeed(feed: Feed, deps: { config: Config; storage: Storage; access: AccessCache; bus: EventBus; services: Services; lease: CompactionLease; logger: Logger; failures: BackgroundFailures }): Required<Feed> {
  const { config, storage } = deps
  // Compared with URL hosts, which are lower case and (IPv6) unbracketed.
  const allowedHosts = config.webhookAllowedHosts.map((host) => host.toLowerCase().replace(/^\[|\]$/g, ''))
  const dispatcher = new WebhookDispatcher({ store: storage.webhooks, feed: storage.feed, lease: deps.lease, access: deps.access, logger: deps.logger.child({ module: 'webhooks' }), failures: deps.failures }, {
    timeoutMs: config.webhookTimeoutMs,
    allowedHosts,
    retry: { baseMs: config.webhookRetryBaseMs, windowMs: config.webhookRetryWindowMs, disableAfterMs: config.webhookDisableAfterMs },
    concurrency: config.webhookConcurrency,
    pollMs: config.webhookPollMs,
    retentionMs: durationMs(config.eventRetention),
  })
  const webhooks = new WebhookService({ access: deps.access, store: storage.webhooks, feed: storage.feed, wake: (groupId) => dispatcher.wake(groupId), logger: deps.logger.child({ module: 'webhooks' }) }, { maxPerGroup: config.maxWebhooksPerGroup, allowedHosts })
  const service = new FeedService({ access: deps.access, store: storage.feed, recorder: feed.recorder })
  feed.recorder.onAppend((groupId) => dispatcher.wake(groupId))
  recordServiceEvents(deps.services, feed.recorder, (groupId) => webhooks.groupDeleted(groupId))
  const streams = new EventStreams({ feed: service, store: storage.feed, recorder: feed.recorder, logger: deps.logger.child({ module: 'feed' }), onAccess: (handler) => deps.bus.subscribe(handler) })
  return { ...feed, feed: service, streams, webhooks, dispatcher }
}
