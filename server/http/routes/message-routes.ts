/** Chat over REST: /groups/:id/messages, read from and written to the group's chat document. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams, MessagePageView, MessagesQuery, PostedMessageView, PostMessageBody } from '../../../shared/api.ts'
import type { MessageService } from '../../groups/message-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export interface MessageRouteOptions {
  messages: MessageService
  /** REST posts per minute per user (MESSAGE_RATE_LIMIT_PER_MINUTE). */
  postsPerMinute: number
}

export async function messageRoutes(app: FastifyInstance, options: MessageRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { messages } = options
  // Keyed by the user, not the address: runs after `authenticate` (route hooks follow the
  // plugin's), so an over-limit user is refused before the body is read.
  const rateLimit = { max: options.postsPerMinute, timeWindow: 60_000, keyGenerator: (request: FastifyRequest) => `user:${userOf(request).userId}` }
  const base = { tags: ['messages'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/messages', {
    schema: { ...base, params: GroupParams, querystring: MessagesQuery, response: { 200: MessagePageView, ...errors(401, 403, 404, 503) } },
  }, async (request) => messages.page(userOf(request).userId, request.params.id, request.query))

  api.post('/groups/:id/messages', {
    config: { rateLimit },
    schema: { ...base, params: GroupParams, body: PostMessageBody, response: { 200: PostedMessageView, 201: PostedMessageView, ...errors(401, 403, 404, 413, 429, 503) } },
  }, async (request, reply) => {
    const { message, created } = await messages.post(userOf(request), request.params.id, request.body)
    return reply.code(created ? 201 : 200).send({ message })
  })
}
