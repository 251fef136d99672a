/**
 * How the server serves the web client (server/http/web.ts): the built bundle at `/` (and at
 * invite links, `/join/<code>`), its service worker and manifest, under the
 * API's security headers, a JSON 503 when the bundle was never built, and API-style JSON 404s
 * for unknown paths either way.
 */
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { installErrorHandling } from '../../server/http/errors.ts'
import { webClient } from '../../server/http/web.ts'
import { tempDir } from '../helpers/server.ts'
import { useBrowserEnv } from './harness.ts'

const env = useBrowserEnv({}, { launch: false })

describe('the built client', () => {
  it('serves the page at / with a CSP that allows only same-origin scripts', async () => {
    const response = await fetch(`${env.server.url}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await response.text()
    const scripts = html.match(/<script\b[^>]*>/g) ?? []
    expect(scripts).toEqual(['<script type="module" src="/app.js">']) // nothing inline: the CSP would block it
  })

  it('serves the page at an invite link too, and the service worker and manifest for offline use', async () => {
    const page = await fetch(`${env.server.url}/join/AbCdEfGhIjKlMnOpQrStUv`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('src="/app.js"') // absolute: the page works below /join/
    const worker = await fetch(`${env.server.url}/sw.js`)
    expect(worker.status).toBe(200)
    expect(worker.headers.get('content-type')).toMatch(/javascript/)
    const manifest = await fetch(`${env.server.url}/manifest.webmanifest`)
    expect(manifest.status).toBe(200)
    expect(await manifest.json()).toMatchObject({ start_url: '/', display: 'standalone' })
  })

  it('serves the bundle and the stylesheet', async () => {
    const script = await fetch(`${env.server.url}/app.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toMatch(/javascript/)
    const styles = await fetch(`${env.server.url}/styles.css`)
    expect(styles.headers.get('content-type')).toMatch(/^text\/css/)
  })

  it('answers unknown paths with the API JSON 404, and API routes still answer', async () => {
    for (const path of ['/nope.js', '/groups/AAAAAAAAAAAA/unknown']) {
      const response = await fetch(`${env.server.url}${path}`)
      expect(response.status).toBe(404)
      expect(await response.json()).toEqual({ error: 'not_found', message: `no route for GET ${path}` })
    }
    expect((await fetch(`${env.server.url}/groups`)).status).toBe(401)
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200)
  })
})

describe('an unbuilt client', () => {
  it('answers / with a JSON 503 instead of failing, and other paths with a JSON 404', async () => {
    const empty = await tempDir('web-unbuilt-')
    const app = Fastify({ logger: false })
    installErrorHandling(app)
    await app.register(webClient, { root: `${empty.path}/dist` })
    try {
      const page = await app.inject({ method: 'GET', url: '/' })
      expect(page.statusCode).toBe(503)
      expect(page.json()).toEqual({ error: 'unavailable', message: 'web client not built: run npm run build:web' })
      const script = await app.inject({ method: 'GET', url: '/app.js' })
      expect(script.statusCode).toBe(404)
      expect(script.json()).toMatchObject({ error: 'not_found' })
    } finally {
      await app.close()
      await empty.remove()
    }
  })
})
