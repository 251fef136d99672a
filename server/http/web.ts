/**
 * Serves the bundled web client (web/dist, built by `npm run build:web`) at `/`.
 *
 * Files are looked up per request, so building after the server started works, and an unbuilt
 * client is a clear 503 at `/` rather than a crash. Missing files fall through to the JSON 404,
 * so unknown API paths still answer like the API. The client routes with the URL hash, so only
 * `/` and invite links (`/join/<code>`) serve index.html.
 */
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/**
 * Where the bundle is: next to the sources when running the TypeScript (server/http → web/dist),
 * or next to the package when running the compiled copy (dist/server/http → web/dist).
 */
export function defaultWebRoot(): string {
  const candidates = [
    path.resolve(import.meta.dirname, '../../web/dist'),
    path.resolve(import.meta.dirname, '../../../web/dist'),
  ]
  return candidates.find((dir) => existsSync(dir)) ?? (candidates[0] as string)
}

export async function webClient(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? defaultWebRoot()
  // Registered inside this (encapsulated) plugin so reply.sendFile does not clash with
  // other users of @fastify/static, such as the docs UI.
  await app.register(fastifyStatic, { root, prefix: '/', index: false, dotfiles: 'ignore', suppressWarning: true })

  const page = async (_request: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    if (!(await isFile(path.join(root, 'index.html')))) {
      return reply.code(503).send({ error: 'unavailable', message: 'web client not built: run npm run build:web' })
    }
    return reply.sendFile('index.html')
  }
  app.get('/', { schema: { hide: true } }, page)
  // An invite link: the app reads the code from the path (the code is checked when accepted).
  app.get('/join/:code', { schema: { hide: true } }, page)
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false)
}
