/** Registers security plugins, docs, error handling and every route. */
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { Services } from '../services.ts'
import { authentication } from './authenticate.ts'
import { ConnectionCap } from './connection-cap.ts'
import { registerDocs } from './docs.ts'
import { installErrorHandling } from './errors.ts'
import { healthRoutes } from './health.ts'
import { authRoutes } from './routes/auth-routes.ts'
import { groupRoutes } from './routes/group-routes.ts'
import { clientAddresses } from './client-address.ts'
import { inviteRoutes } from './routes/invite-routes.ts'
import { memberRoutes } from './routes/member-routes.ts'
import { messageRoutes } from './routes/message-routes.ts'
import { canvasRoutes } from './routes/canvas-routes.ts'
import { historyRoutes } from './routes/history-routes.ts'
import { webClient } from './web.ts'

export async function registerHttp(app: FastifyInstance, config: Config, services: Services): Promise<void> {
  // Listens on the server's 'connection' event from now on (before listen), for HTTP and WebSockets.
  const clients = clientAddresses(config.trustProxy)
  new ConnectionCap(app.server, config.maxConnectionsPerAddress, app.log.child({ module: 'connections' }), (peer) => clients.isTrustedProxy(peer))
  installErrorHandling(app)
  app.removeContentTypeParser('text/plain') // JSON only: anything else is a 415
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        // helmet's default would make browsers rewrite http: and ws: to https: and wss:, which
        // breaks any deployment served over plain HTTP beyond localhost (TLS ends elsewhere).
        upgradeInsecureRequests: null,
      },
    },
  })
  if (config.corsOrigins.length > 0) await app.register(cors, { origin: config.corsOrigins, methods: ['GET', 'POST', 'PATCH', 'DELETE'] })
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, error: 'rate_limited', message: `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s` }),
  })
  await registerDocs(app)
  await app.register(authentication, { tokens: services.tokens })
  await app.register(healthRoutes)
  await app.register(authRoutes, { accounts: services.accounts, perMinute: config.authRateLimitPerMinute })
  await app.register(groupRoutes, { groups: services.groups })
  await app.register(memberRoutes, { members: services.members })
  await app.register(inviteRoutes, { invites: services.invites, acceptsPerMinute: config.inviteAcceptRateLimitPerMinute })
  await app.register(messageRoutes, { messages: services.messages, postsPerMinute: config.messageRateLimitPerMinute })
  await app.register(canvasRoutes, { access: services.access, registry: app.collab.registry, maxSvgBytes: config.maxSvgBytes })
  await app.register(historyRoutes, { history: services.history })
  await app.register(webClient)
}
