/** REST shapes of the change feed and webhooks (issue 22), as TypeBox schemas like shared/api.ts. */
import { Type, type Static } from 'typebox'
import { EVENT_TYPES } from './event-types.ts'
import { GROUP_ID_PATTERN } from './rooms.ts'

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
const GroupId = Type.String({ pattern: GROUP_ID_PATTERN.source })
const Millis = Type.Integer({ description: 'milliseconds since the epoch' })
const EventId = Type.String({ maxLength: 90, pattern: '^[A-Za-z0-9_-]{8,64}\\.\\d{1,15}$', description: '<groupId>.<seq>' })

export { EVENT_TYPES, type EventType } from './event-types.ts'

export const FEED_PAGE_MAX = 200

export const EventsQuery = Type.Object({
  after: Type.Optional(EventId),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: FEED_PAGE_MAX })),
}, { additionalProperties: false })

export const EventView = Type.Object({
  id: Type.String(),
  type: Type.String(),
  groupId: Type.String(),
  at: Millis,
  actor: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
})
export const EventPageView = Type.Object({
  events: Type.Array(EventView),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `after` for the next page (null: nothing read yet)' }),
})

export const WebhookParams = Type.Object({ id: GroupId, webhookId: Id })
export const DeliveryParams = Type.Object({ id: GroupId, webhookId: Id, deliveryId: Type.String({ maxLength: 90, pattern: '^[A-Za-z0-9_-]+\\.\\d{1,15}$' }) })
export const CreateWebhookBody = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 2048 }),
  events: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { minItems: 1, maxItems: EVENT_TYPES.length })),
}, { additionalProperties: false })
export const DeliveriesQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false })

export const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Millis,
  createdBy: Type.String(),
  failingSince: Type.Union([Millis, Type.Null()]),
  disabled: Type.Union([Type.Object({ at: Millis, reason: Type.String() }), Type.Null()]),
})
export const CreatedWebhookView = Type.Object({ webhook: WebhookView, secret: Type.String({ description: 'whsec_ + base64: shown once' }) })
export const WebhookListView = Type.Object({ webhooks: Type.Array(WebhookView) })
export const DeliveryView = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Array(Type.Object({ at: Millis, status: Type.Union([Type.Integer(), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]), ms: Type.Integer() })),
  nextAttemptAt: Type.Union([Millis, Type.Null()]),
  createdAt: Millis,
})
export const DeliveryListView = Type.Object({ deliveries: Type.Array(DeliveryView) })
export const RetriedDeliveryView = Type.Object({ delivery: DeliveryView })

export type EventPageResponse = Static<typeof EventPageView>
export type WebhookResponse = Static<typeof WebhookView>
export type DeliveryResponse = Static<typeof DeliveryView>
