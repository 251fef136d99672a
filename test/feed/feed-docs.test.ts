/** The feed and webhook routes are in the OpenAPI document and in the README's REST table. */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { useFreshServer } from '../helpers/server.ts'

const ctx = useFreshServer()

const ROUTES: Array<[string, string, string]> = [
  ['get', '/groups/{id}/events', 'GET /groups/:id/events'],
  ['post', '/groups/{id}/webhooks', 'POST /groups/:id/webhooks'],
  ['get', '/groups/{id}/webhooks', 'GET /groups/:id/webhooks'],
  ['delete', '/groups/{id}/webhooks/{webhookId}', 'DELETE /groups/:id/webhooks/:webhookId'],
  ['get', '/groups/{id}/webhooks/{webhookId}/deliveries', 'GET /groups/:id/webhooks/:webhookId/deliveries'],
  ['post', '/groups/{id}/webhooks/{webhookId}/deliveries/{deliveryId}/retry', 'POST /groups/:id/webhooks/:webhookId/deliveries/:deliveryId/retry'],
]

it('documents every feed and webhook route in OpenAPI, with bearer auth', async () => {
  const reply = await ctx.server.app.inject({ method: 'GET', url: '/docs/json' })
  const doc = reply.json() as { paths: Record<string, Record<string, { security?: unknown[]; tags?: string[] }>> }
  for (const [method, route] of ROUTES) {
    expect(doc.paths[route]?.[method], `${method} ${route}`).toBeDefined()
    expect(doc.paths[route]![method]!.security).toEqual([{ bearerAuth: [] }])
  }
})

it('lists every feed and webhook route in the README', async () => {
  const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
  for (const [, , written] of ROUTES) expect(readme).toContain(`\`${written}`)
})
