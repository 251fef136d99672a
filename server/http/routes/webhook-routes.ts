/** /groups/:id/webhooks: owners register, list and delete webhooks, read and retry deliveries. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams } from '../../../shared/api.ts'
import { CreatedWebhookView, CreateWebhookBody, DeliveriesQuery, DeliveryListView, DeliveryParams, RetriedDeliveryView, WebhookListView, WebhookParams } from '../../../shared/feed-api.ts'
import type { DeliveryRecord } from '../../storage/feed-types.ts'
import type { WebhookService } from '../../webhooks/webhook-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export async function webhookRoutes(app: FastifyInstance, options: { webhooks: WebhookService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { webhooks } = options
  const base = { tags: ['webhooks'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.post('/groups/:id/webhooks', {
    schema: { ...base, description: 'Registers a webhook (owners). The secret is shown only here. Targets resolving to loopback, private, link-local or metadata addresses are refused.', params: GroupParams, body: CreateWebhookBody, response: { 201: CreatedWebhookView, ...errors(401, 403, 404, 409) } },
  }, async (request, reply) => {
    const { secret, ...webhook } = await webhooks.create(userOf(request).userId, request.params.id, request.body)
    return reply.code(201).send({ webhook, secret })
  })

  api.get('/groups/:id/webhooks', {
    schema: { ...base, params: GroupParams, response: { 200: WebhookListView, ...errors(401, 403, 404) } },
  }, async (request) => ({ webhooks: await webhooks.list(userOf(request).userId, request.params.id) }))

  api.delete('/groups/:id/webhooks/:webhookId', {
    schema: { ...base, params: WebhookParams, response: { 204: {}, ...errors(401, 403, 404) } },
  }, async (request, reply) => {
    await webhooks.delete(userOf(request).userId, request.params.id, request.params.webhookId)
    return reply.code(204).send()
  })

  api.get('/groups/:id/webhooks/:webhookId/deliveries', {
    schema: { ...base, description: 'Deliveries, newest event first: attempts with status codes, and the next retry.', params: WebhookParams, querystring: DeliveriesQuery, response: { 200: DeliveryListView, ...errors(401, 403, 404) } },
  }, async (request) => {
    const found = await webhooks.deliveries(userOf(request).userId, request.params.id, request.params.webhookId, request.query.limit ?? 20)
    return { deliveries: found.map(deliveryView) }
  })

  api.post('/groups/:id/webhooks/:webhookId/deliveries/:deliveryId/retry', {
    schema: { ...base, description: 'Tries a delivery again soon with a fresh run of retries; enables a disabled webhook again (409 when it was disabled because its creator no longer owns the group).', params: DeliveryParams, response: { 200: RetriedDeliveryView, ...errors(401, 403, 404, 409) } },
  }, async (request) => ({ delivery: deliveryView(await webhooks.retry(userOf(request).userId, request.params.id, request.params.webhookId, request.params.deliveryId)) }))
}

function deliveryView(delivery: DeliveryRecord): DeliveryRecord {
  return delivery // the response schema keeps the documented fields
}
