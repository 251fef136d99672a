/**
 * The canvas as a picture: GET /groups/:id/canvas.svg, rendered from the group's canvas document
 * read through its hot room (as the chat routes read the chat), so it shows live strokes too.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams } from '../../../shared/api.ts'
import { readStrokes } from '../../../shared/canvas.ts'
import { renderCanvasSvg } from '../../../shared/canvas-svg.ts'
import { roomName } from '../../../shared/rooms.ts'
import type { Room } from '../../collab/room.ts'
import type { RoomRegistry } from '../../collab/room-registry.ts'
import { unavailable } from '../../errors.ts'
import type { AccessCache } from '../../groups/access-cache.ts'
import { requireRole } from '../../groups/guard.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export interface CanvasRouteOptions {
  access: AccessCache
  registry: RoomRegistry
}

const SvgResponse = {
  description: 'the canvas as an SVG picture: one path per stroke, in paint order',
  content: { 'image/svg+xml': { schema: { type: 'string' } } },
}

export async function canvasRoutes(app: FastifyInstance, options: CanvasRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.authenticate)

  api.get('/groups/:id/canvas.svg', {
    schema: { tags: ['canvas'], security: bearer, params: GroupParams, response: { 200: SvgResponse, ...errors(401, 403, 404, 503) } },
  }, async (request, reply) => {
    await requireRole(options.access, request.params.id, userOf(request).userId, 'viewer')
    const strokes = await withCanvas(options.registry, request.params.id, (room) => readStrokes(room.doc))
    return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'no-store').send(renderCanvasSvg(strokes))
  })
}

/** Holds the canvas room only while reading it; an unloadable room is a 503, never an empty picture. */
async function withCanvas<T>(registry: RoomRegistry, groupId: string, use: (room: Room) => T): Promise<T> {
  let room: Room
  try {
    room = await registry.acquire(roomName(groupId, 'canvas'))
  } catch {
    throw unavailable('the canvas is unavailable right now')
  }
  try {
    return use(room)
  } finally {
    registry.release(room)
  }
}
