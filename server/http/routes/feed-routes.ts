/** /groups/:id/events: the change feed, as JSON pages or (Accept: text/event-stream) Server-Sent Events. */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams } from '../../../shared/api.ts'
import { EventPageView, EventsQuery } from '../../../shared/feed-api.ts'
import type { EventStreams } from '../../feed/event-stream.ts'
import type { FeedService } from '../../feed/feed-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export async function feedRoutes(app: FastifyInstance, options: { feed: FeedService; streams: EventStreams }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { feed, streams } = options
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/events', {
    schema: {
      tags: ['feed'],
      security: bearer,
      description: 'The group\'s events, oldest first, after `after` (or from the oldest kept). With `Accept: text/event-stream`: the same as Server-Sent Events, then new ones as they come; resumes after `Last-Event-ID`.',
      params: GroupParams,
      querystring: EventsQuery,
      response: { 200: EventPageView, ...errors(401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const actor = userOf(request).userId
    if (!(request.headers.accept ?? '').includes('text/event-stream')) return feed.page(actor, request.params.id, request.query)
    const lastEventId = request.headers['last-event-id']
    const after = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query.after
    const seq = await streams.admit(actor, request.params.id, after)
    // Headers set so far (CORS, security headers, request id) go out with the stream: hijacked, the reply's hooks do not run.
    const headers: Record<string, string | string[]> = { 'x-request-id': request.id }
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value
    reply.hijack()
    streams.serve(actor, request.params.id, seq, reply.raw, headers)
    return reply
  })
}
