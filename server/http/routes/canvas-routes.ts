/**
 * The canvas as a picture: GET /groups/:id/canvas.svg, rendered in the doc worker from the group's
 * canvas read through its hot room (so it shows live strokes too), cached per version of the
 * document, and refused with 413 when the picture would be bigger than MAX_SVG_BYTES. Each path
 * carries its stroke's id and author (`data-id`, `data-author`). A render is charged to the viewer
 * (CANVAS_RENDER_BYTES_PER_MINUTE, canvas-render-budget.ts): it is work in the doc worker every
 * room shares; a picture still cached costs nothing.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GroupParams } from '../../../shared/api.ts'
import { roomName } from '../../../shared/rooms.ts'
import type { Room } from '../../collab/room/room.ts'
import type { RoomRegistry } from '../../collab/room/room-registry.ts'
import { payloadTooLarge, unavailable } from '../../errors.ts'
import { CanvasRenderBudget } from '../../history/canvas-render-budget.ts'
import type { AccessCache } from '../../groups/access-cache.ts'
import { requireRole } from '../../groups/guard.ts'
import { userOf } from '../authenticate.ts'
import { bearer, errors } from './common.ts'

export interface CanvasRouteOptions {
  access: AccessCache
  registry: RoomRegistry
  maxSvgBytes: number
}

const SvgResponse = {
  description: 'the canvas as an SVG picture: one path per stroke, in paint order, with data-id and data-author',
  content: { 'image/svg+xml': { schema: { type: 'string' } } },
}

export async function canvasRoutes(app: FastifyInstance, options: CanvasRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.authenticate)
  // From the app's config: the route's registration (http/index.ts) passes no budget.
  const renders = new CanvasRenderBudget(app.config.canvasRenderBytesPerMinute)

  api.get('/groups/:id/canvas.svg', {
    schema: { tags: ['canvas'], security: bearer, params: GroupParams, response: { 200: SvgResponse, ...errors(401, 403, 404, 413, 429, 503) } },
  }, async (request, reply) => {
    const { userId } = userOf(request)
    await requireRole(options.access, request.params.id, userId, 'viewer')
    const svg = await withCanvas(options.registry, request.params.id, (room) => room.svg(options.maxSvgBytes, () => renders.charge(userId, room.bytes.bytes)))
    if (svg === null) throw payloadTooLarge(`the canvas picture is larger than ${options.maxSvgBytes} bytes`)
    return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'no-store').send(svg)
  })
}

/** Holds the canvas room only while reading it; an unloadable room is a 503, never an empty picture. */
async function withCanvas<T>(registry: RoomRegistry, groupId: string, use: (room: Room) => Promise<T>): Promise<T> {
  let room: Room
  try {
    room = await registry.acquire(roomName(groupId, 'canvas'))
  } catch {
    throw unavailable('the canvas is unavailable right now', 2)
  }
  try {
    return await use(room)
  } finally {
    registry.release(room)
  }
}
