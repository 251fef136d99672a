/** /groups: create, list mine, get, update, transfer, delete. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { CreateGroupBody, GroupListView, GroupParams, GroupView, TransferBody, UpdateGroupBody } from '../../../shared/api.ts'
import type { GroupService } from '../../groups/group-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export async function groupRoutes(app: FastifyInstance, options: { groups: GroupService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { groups } = options
  const base = { tags: ['groups'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.post('/groups', {
    schema: { ...base, body: CreateGroupBody, response: { 201: GroupView, ...errors(401, 409, 413) } },
  }, async (request, reply) => reply.code(201).send(await groups.create(userOf(request).userId, request.body)))

  api.get('/groups', {
    schema: { ...base, response: { 200: GroupListView, ...errors(401) } },
  }, async (request) => ({ groups: await groups.listMine(userOf(request).userId) }))

  api.get('/groups/:id', {
    schema: { ...base, params: GroupParams, response: { 200: GroupView, ...errors(401, 403, 404) } },
  }, async (request) => groups.get(userOf(request).userId, request.params.id))

  api.patch('/groups/:id', {
    schema: { ...base, params: GroupParams, body: UpdateGroupBody, response: { 200: GroupView, ...errors(401, 403, 404) } },
  }, async (request) => groups.update(userOf(request).userId, request.params.id, request.body))

  api.post('/groups/:id/transfer', {
    schema: { ...base, params: GroupParams, body: TransferBody, response: { 200: GroupView, ...errors(401, 403, 404, 409) } },
  }, async (request) => groups.transfer(userOf(request).userId, request.params.id, request.body.userId))

  api.delete('/groups/:id', {
    schema: { ...base, params: GroupParams, response: { 204: {}, ...errors(401, 403, 404) } },
  }, async (request, reply) => {
    await groups.delete(userOf(request).userId, request.params.id)
    return reply.code(204).send()
  })
}
