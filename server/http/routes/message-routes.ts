/** Chat over REST: /groups/:id/messages, read from and written to the group's chat document. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams, MessagePageView, MessagesQuery, PostedMessageView, PostMessageBody } from '../../../shared/api.ts'
import type { MessageService } from '../../groups/message-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export async function messageRoutes(app: FastifyInstance, options: { messages: MessageService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { messages } = options
  const base = { tags: ['messages'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/messages', {
    schema: { ...base, params: GroupParams, querystring: MessagesQuery, response: { 200: MessagePageView, ...errors(401, 403, 404, 503) } },
  }, async (request) => messages.page(userOf(request).userId, request.params.id, request.query))

  api.post('/groups/:id/messages', {
    schema: { ...base, params: GroupParams, body: PostMessageBody, response: { 200: PostedMessageView, 201: PostedMessageView, ...errors(401, 403, 404, 413, 503) } },
  }, async (request, reply) => {
    const { message, created } = await messages.post(userOf(request), request.params.id, request.body)
    return reply.code(created ? 201 : 200).send({ message })
  })
}
