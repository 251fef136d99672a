/**
 * Short-lived access tokens: the page refreshes its token before it expires and reconnects with
 * the fresh one. Sockets opened with an expired token (the page was offline past the expiry)
 * are closed by the server with 4401; the page refreshes once and every socket reconnects with
 * that one fresh token.
 *
 * The race this pins down: after coming back online the canvas and chat sockets are both
 * refused. Refresh tokens are single use, so if each socket started its own refresh, the pair
 * would be rotated twice and the sockets would end up on different tokens. Whether the second
 * 4401 arrives while the first refresh is still running (shared, harmless) or after it finished
 * (the bug) was a matter of timing; here the chat socket's reconnect is held back (Playwright
 * routes it) until the page has stored the refreshed token, so its 4401 always arrives after
 * the refresh finished.
 */
import type { Request } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  canvasSvg, drawStroke, expectStrokeCount, openSockets, pageToken, svgStrokeColors, useBrowserEnv, useOwnerOnGroupPage,
  waitForStatus,
} from './harness.ts'

/** Long enough that the timer's next refresh (at 80% of it) cannot fall inside the comeback. */
const TTL_SEC = 6
const env = useBrowserEnv({ accessTokenTtlSec: TTL_SEC })

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token') ?? ''
}

/** Seconds since the epoch when the JWT expires. */
function expiry(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }
  return payload.exp
}

describe('token refresh', () => {
  const owner = useOwnerOnGroupPage(env, 'Rita', 'Short tokens')

  it('refreshes before expiry, and after being offline past it refreshes once for both sockets', async () => {
    const { user, groupId } = owner
    const { page, context } = user
    const first = await pageToken(page)
    expect(openSockets(user).map((s) => tokenOf(s.url()))).toEqual([first, first])
    await expect.poll(() => pageToken(page), { timeout: TTL_SEC * 1000 + 2_000 }).not.toBe(first)

    await context.setOffline(true)
    await waitForStatus(page, 'offline')
    const stale = await pageToken(page)
    // The stored token expires meanwhile (the server refuses it from the second after `exp`).
    await expect.poll(() => Date.now() / 1000 > expiry(stale) + 1, { timeout: TTL_SEC * 1000 + 5_000, interval: 100 }).toBe(true)

    const refreshes: Request[] = []
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/refresh') refreshes.push(request)
    })
    let release = (): void => undefined
    const refreshed = new Promise<void>((resolve) => { release = resolve })
    await page.routeWebSocket(/\/chat\?/, async (route) => {
      await refreshed
      route.connectToServer()
    })
    const before = user.sockets.length
    await context.setOffline(false)
    await expect.poll(() => pageToken(page), { timeout: 15_000 }).not.toBe(stale)
    release()
    await waitForStatus(page, 'connected')
    const fresh = await pageToken(page)
    await expect.poll(() => openSockets(user).map((s) => tokenOf(s.url())), { timeout: 15_000 }).toEqual([fresh, fresh])

    expect(refreshes).toHaveLength(1)
    // The first attempts after coming back still carried the expired token and were refused.
    const comeback = user.sockets.slice(before).map((s) => new URL(s.url()))
    for (const room of ['canvas', 'chat']) {
      expect(comeback.some((url) => url.pathname.endsWith(`/${room}`) && url.searchParams.get('token') === stale), room).toBe(true)
    }
    await drawStroke(page, [[40, 40], [140, 90]])
    await expectStrokeCount(page, 1)
    await expect.poll(async () => svgStrokeColors(await canvasSvg(env, groupId, page)).length, { timeout: 15_000 }).toBe(1)
  }, 60_000)
})
