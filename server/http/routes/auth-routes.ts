/** /auth: register, login, refresh, logout, me. Rate limited per client address. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { LoginBody, MeView, RefreshBody, RegisterBody, SessionView } from '../../../shared/api.ts'
import type { AccountService } from '../../accounts/account-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export interface AuthRouteOptions {
  accounts: AccountService
  perMinute: number
}

export async function authRoutes(app: FastifyInstance, options: AuthRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { accounts } = options
  const rateLimit = { max: options.perMinute, timeWindow: 60_000 }
  const tags = ['auth']

  api.post('/auth/register', {
    config: { rateLimit },
    schema: { tags, body: RegisterBody, response: { 201: SessionView, ...errors(409, 413, 429) } },
  }, async (request, reply) => reply.code(201).send(await accounts.register(request.body)))

  api.post('/auth/login', {
    config: { rateLimit },
    schema: { tags, body: LoginBody, response: { 200: SessionView, ...errors(401, 429) } },
  }, async (request) => accounts.login(request.body))

  api.post('/auth/refresh', {
    config: { rateLimit },
    schema: { tags, body: RefreshBody, response: { 200: SessionView, ...errors(401, 429) } },
  }, async (request) => accounts.refresh(request.body.refreshToken))

  api.post('/auth/logout', {
    config: { rateLimit },
    schema: { tags, body: RefreshBody, response: { 204: {}, ...errors(429) } },
  }, async (request, reply) => {
    await accounts.logout(request.body.refreshToken)
    return reply.code(204).send()
  })

  api.get('/auth/me', {
    onRequest: app.authenticate,
    schema: { tags, security: bearer, response: { 200: MeView, ...errors(401) } },
  }, async (request) => ({ user: await accounts.me(userOf(request).userId) }))
}
