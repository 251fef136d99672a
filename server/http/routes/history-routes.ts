/**
 * Version history over REST: /groups/:id/versions (list, name), previews of a version (canvas.svg,
 * messages), diffs, restore, and /groups/:id/rollback. Roles and statuses as everywhere: members
 * read, owners and editors name and restore, owners roll back; 404 for an unknown version or one
 * of another group, 503 while the log is down; 429 past a user's hourly budget of names,
 * restores and rollbacks (in number, and in bytes of the copies they store) or her per-minute
 * budget of pictures, message pages and diffs; 409 past a document's quota of named versions (in
 * number, and in bytes).
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  ActivityQuery, ActivityView, CreatedVersionView, DiffQuery, DiffView, GroupParams, MessagePageView, MessagesQuery, NameVersionBody, RestoredView,
  RollbackBody, RollbackPlanView, RollbackView, VersionListView, VersionParams, VersionsQuery,
} from '../../../shared/api.ts'
import type { HistoryService } from '../../history/history-service.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

const SvgResponse = {
  description: 'the canvas as it was in this version, as an SVG picture',
  content: { 'image/svg+xml': { schema: { type: 'string' } } },
}

export async function historyRoutes(app: FastifyInstance, options: { history: HistoryService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const { history } = options
  const base = { tags: ['history'], security: bearer }
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/versions', {
    schema: { ...base, params: GroupParams, querystring: VersionsQuery, response: { 200: VersionListView, ...errors(401, 403, 404, 503) } },
  }, async (request) => history.list(userOf(request).userId, request.params.id, request.query))

  api.post('/groups/:id/versions', {
    schema: { ...base, params: GroupParams, body: NameVersionBody, response: { 201: CreatedVersionView, ...errors(401, 403, 404, 409, 429, 503) } },
  }, async (request, reply) => {
    const version = await history.name(userOf(request).userId, request.params.id, request.body.doc, request.body.name)
    return reply.code(201).send({ version })
  })

  api.get('/groups/:id/versions/:versionId/canvas.svg', {
    schema: { ...base, params: VersionParams, response: { 200: SvgResponse, ...errors(401, 403, 404, 413, 429, 503) } },
  }, async (request, reply) => {
    const svg = await history.svg(userOf(request).userId, request.params.id, request.params.versionId)
    // A version never changes: caches may keep its picture.
    return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'private, max-age=86400, immutable').send(svg)
  })

  api.get('/groups/:id/versions/:versionId/messages', {
    schema: { ...base, params: VersionParams, querystring: MessagesQuery, response: { 200: MessagePageView, ...errors(401, 403, 404, 429, 503) } },
  }, async (request) => history.messages(userOf(request).userId, request.params.id, request.params.versionId, request.query))

  api.get('/groups/:id/versions/:versionId/diff', {
    schema: { ...base, params: VersionParams, querystring: DiffQuery, response: { 200: DiffView, ...errors(401, 403, 404, 429, 503) } },
  }, async (request) => history.diff(userOf(request).userId, request.params.id, request.params.versionId, request.query.to))

  api.post('/groups/:id/versions/:versionId/restore', {
    schema: { ...base, params: VersionParams, response: { 200: RestoredView, ...errors(401, 403, 404, 429, 503) } },
  }, async (request) => history.restore(userOf(request).userId, request.params.id, request.params.versionId))

  api.post('/groups/:id/rollback', {
    schema: { ...base, params: GroupParams, body: RollbackBody, response: { 200: RollbackView, ...errors(401, 403, 404, 429, 503) } },
  }, async (request) => history.rollback(userOf(request).userId, request.params.id, request.body))

  api.post('/groups/:id/rollback/preview', {
    schema: { ...base, params: GroupParams, body: RollbackBody, response: { 200: RollbackPlanView, ...errors(401, 403, 404, 429, 503) } },
  }, async (request) => history.previewRollback(userOf(request).userId, request.params.id, request.body))

  api.get('/groups/:id/activity', {
    schema: { ...base, params: GroupParams, querystring: ActivityQuery, response: { 200: ActivityView, ...errors(401, 403, 404, 503) } },
  }, async (request) => history.activity(userOf(request).userId, request.params.id, request.query.after))
}
