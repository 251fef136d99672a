/** Bearer-token authentication for REST: `request.user` after `app.authenticate` ran. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidTokenError, type TokenService } from '../accounts/tokens.ts'
import { unauthorized } from '../errors.ts'

export interface RequestUser {
  userId: string
  name: string
}

declare module 'fastify' {
  interface FastifyRequest {
    user: RequestUser | null
  }
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>
  }
}

export const authentication = fp(async (app: FastifyInstance, options: { tokens: TokenService }) => {
  app.decorateRequest('user', null)
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization
    const match = header ? /^Bearer ([^\s]+)$/i.exec(header) : null
    if (!match?.[1]) throw unauthorized('missing bearer token')
    try {
      request.user = await options.tokens.verifyAccess(match[1])
    } catch (error) {
      if (error instanceof InvalidTokenError) throw unauthorized('invalid or expired token')
      throw error
    }
  })
}, { name: 'authentication' })

/** The authenticated user; only call after the `authenticate` hook ran. */
export function userOf(request: FastifyRequest): RequestUser {
  if (!request.user) throw unauthorized()
  return request.user
}
