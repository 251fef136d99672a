/** Invite codes: /groups/:id/invites (manage) and /invites/:code/accept (join). */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { AcceptedInviteView, CreateInviteBody, GroupInviteParams, GroupParams, InviteListView, InviteParams, InviteView } from '../../../shared/api.ts'
import type { InviteService } from '../../groups/invite-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export interface InviteRouteOptions {
  invites: InviteService
  /** Accepts per minute per client address (INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE). */
  acceptsPerMinute: number
}

export async function inviteRoutes(app: FastifyInstance, options: InviteRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { invites } = options
  // The default key is the client address (X-Forwarded-For only with TRUST_PROXY), IPv6 per /64.
  const acceptLimit = { max: options.acceptsPerMinute, timeWindow: 60_000 }
  const base = { tags: ['invites'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.post('/groups/:id/invites', {
    schema: { ...base, params: GroupParams, body: CreateInviteBody, response: { 201: InviteView, ...errors(401, 403, 404, 409) } },
  }, async (request, reply) => reply.code(201).send(await invites.create(userOf(request).userId, request.params.id, request.body)))

  api.get('/groups/:id/invites', {
    schema: { ...base, params: GroupParams, response: { 200: InviteListView, ...errors(401, 403, 404) } },
  }, async (request) => ({ invites: await invites.list(userOf(request).userId, request.params.id) }))

  api.delete('/groups/:id/invites/:code', {
    schema: { ...base, params: GroupInviteParams, response: { 204: {}, ...errors(401, 403, 404) } },
  }, async (request, reply) => {
    await invites.revoke(userOf(request).userId, request.params.id, request.params.code)
    return reply.code(204).send()
  })

  api.post('/invites/:code/accept', {
    config: { rateLimit: acceptLimit },
    schema: { ...base, params: InviteParams, response: { 200: AcceptedInviteView, ...errors(401, 404, 409, 410, 429) } },
  }, async (request) => ({ group: await invites.accept(userOf(request).userId, request.params.code) }))
}
