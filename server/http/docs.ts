/** OpenAPI (from the route schemas) at /docs/json, browsable at /docs. */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'canvas-collab-server', version: '0.1.0', description: 'Accounts, groups, membership and chat. Documents sync over the y-websocket protocol at /collab/<groupId>/<canvas|chat>?token=<access token>.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
}
