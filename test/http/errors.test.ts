/** Cross-cutting HTTP behaviour: error format, body parsing, security headers, docs, CORS. */
import { describe, expect, it } from 'vitest'
import { expectError, useServer } from './context.ts'

describe('default server', () => {
  const ctx = useServer()

  it('answers an unknown route with 404 JSON not_found', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/no/such/route?x=1' })
    expect(reply.statusCode).toBe(404)
    expect(reply.headers['content-type']).toMatch(/^application\/json/)
    expect(reply.json()).toEqual({ error: 'not_found', message: 'no route for GET /no/such/route' })
  })

  it('answers a malformed JSON body with 400 JSON bad_request', async () => {
    const reply = await ctx.server.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: '{bad' })
    expect(reply.statusCode).toBe(400)
    expect(reply.headers['content-type']).toMatch(/^application\/json/)
    expectError({ status: reply.statusCode, body: reply.json() }, 400, 'bad_request')
  })

  it('answers an unsupported content type with 415 JSON unsupported_media_type', async () => {
    const reply = await ctx.server.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/xml' }, payload: '<login/>' })
    expect(reply.statusCode).toBe(415)
    expect(reply.headers['content-type']).toMatch(/^application\/json/)
    expectError({ status: reply.statusCode, body: reply.json() }, 415, 'unsupported_media_type')
  })

  it('answers an unauthenticated API call with 401 JSON', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/groups' })
    expect(reply.headers['content-type']).toMatch(/^application\/json/)
    expectError({ status: reply.statusCode, body: reply.json() }, 401, 'unauthorized')
  })

  it('sends security headers on API responses', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/healthz' })
    expect(reply.statusCode).toBe(200)
    expect(reply.headers['x-content-type-options']).toBe('nosniff')
    expect(reply.headers['x-frame-options']).toBe('SAMEORIGIN')
    const csp = String(reply.headers['content-security-policy'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("connect-src 'self' ws: wss:")
  })

  it('sends security headers on error responses too', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/no/such/route' })
    expect(reply.headers['x-content-type-options']).toBe('nosniff')
    expect(reply.headers['content-security-policy']).toEqual(expect.any(String))
  })

  it('serves the OpenAPI document at /docs/json', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/docs/json' })
    expect(reply.statusCode).toBe(200)
    const doc = reply.json() as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths['/groups'] ?? {}).sort()).toEqual(['get', 'post'])
    for (const route of ['/auth/register', '/groups/{id}', '/groups/{id}/members', '/invites/{code}/accept', '/groups/{id}/messages']) {
      expect(doc.paths).toHaveProperty([route])
    }
  })

  it('serves the browsable docs at /docs as HTML', async () => {
    let reply = await ctx.server.app.inject({ method: 'GET', url: '/docs' })
    if (reply.statusCode >= 300 && reply.statusCode < 400) {
      const location = String(reply.headers.location)
      expect(location).toMatch(/\/docs\//)
      reply = await ctx.server.app.inject({ method: 'GET', url: new URL(location, 'http://localhost/docs/').pathname })
    }
    expect(reply.statusCode).toBe(200)
    expect(reply.headers['content-type']).toMatch(/^text\/html/)
    expect(reply.body).toMatch(/swagger/i)
  })

  it('sends no CORS headers when no origins are configured', async () => {
    const preflight = await ctx.server.app.inject({ method: 'OPTIONS', url: '/groups', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
    const simple = await ctx.server.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } })
    expect(simple.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('server with CORS_ORIGINS', () => {
  const ctx = useServer({ corsOrigins: ['https://app.example'] })

  it('answers a preflight from an allowed origin with that origin', async () => {
    const reply = await ctx.server.app.inject({ method: 'OPTIONS', url: '/groups', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
    expect(reply.statusCode).toBe(204)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(String(reply.headers['access-control-allow-methods'])).toContain('PATCH')
  })

  it('allows the origin on ordinary responses', async () => {
    const reply = await ctx.server.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } })
    expect(reply.statusCode).toBe(200)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example')
  })

  it('does not allow another origin', async () => {
    const reply = await ctx.server.app.inject({ method: 'OPTIONS', url: '/groups', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(reply.headers['access-control-allow-origin']).toBeUndefined()
  })
})
