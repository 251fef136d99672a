/** /groups/:id/members and /groups/:id/leave. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams, MemberListView, MemberParams, MemberView, SetRoleBody } from '../../../shared/api.ts'
import type { MemberService } from '../../groups/member-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export async function memberRoutes(app: FastifyInstance, options: { members: MemberService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { members } = options
  const base = { tags: ['members'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/members', {
    schema: { ...base, params: GroupParams, response: { 200: MemberListView, ...errors(401, 403, 404) } },
  }, async (request) => ({ members: await members.list(userOf(request).userId, request.params.id) }))

  api.patch('/groups/:id/members/:userId', {
    schema: { ...base, params: MemberParams, body: SetRoleBody, response: { 200: MemberView, ...errors(401, 403, 404, 409) } },
  }, async (request) => members.setRole(userOf(request).userId, request.params.id, request.params.userId, request.body.role))

  api.delete('/groups/:id/members/:userId', {
    schema: { ...base, params: MemberParams, response: { 204: {}, ...errors(401, 403, 404, 409) } },
  }, async (request, reply) => {
    await members.remove(userOf(request).userId, request.params.id, request.params.userId)
    return reply.code(204).send()
  })

  api.post('/groups/:id/leave', {
    schema: { ...base, params: GroupParams, response: { 204: {}, ...errors(401, 403, 404, 409) } },
  }, async (request, reply) => {
    await members.leave(userOf(request).userId, request.params.id)
    return reply.code(204).send()
  })
}
