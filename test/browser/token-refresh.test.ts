/**
 * Short-lived access tokens: the page refreshes its token before it expires and reconnects with
 * the fresh one. A socket opened with an expired token (the page was offline past the expiry)
 * is closed by the server with 4401; the page refreshes and reconnects by itself.
 */
import { describe, expect, it } from 'vitest'
import { sleep } from '../helpers/wait.ts'
import {
  canvasSvg, drawStroke, expectStrokeCount, openSockets, pageToken, svgStrokeColors, useBrowserEnv, useOwnerOnGroupPage,
  waitForStatus,
} from './harness.ts'

const TTL_SEC = 3
const env = useBrowserEnv({ accessTokenTtlSec: TTL_SEC })

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token') ?? ''
}

describe('token refresh', () => {
  const owner = useOwnerOnGroupPage(env, 'Rita', 'Short tokens')

  it('refreshes before expiry, and recovers from a 4401 after being offline past it', async () => {
    const { user, groupId } = owner
    const { page, context } = user
    const first = await pageToken(page)
    expect(openSockets(user).map((s) => tokenOf(s.url()))).toEqual([first, first])
    await expect.poll(() => pageToken(page), { timeout: TTL_SEC * 1000 + 2_000 }).not.toBe(first)

    await context.setOffline(true)
    await waitForStatus(page, 'offline')
    const stale = await pageToken(page)
    await sleep(TTL_SEC * 1000 + 1_200) // the stored token expires; refreshing fails meanwhile
    const before = user.sockets.length
    await context.setOffline(false)
    await waitForStatus(page, 'connected')

    const fresh = await pageToken(page)
    expect(fresh).not.toBe(stale)
    // The first attempts after coming back still carried the expired token and were refused.
    expect(user.sockets.slice(before).some((s) => tokenOf(s.url()) === stale)).toBe(true)
    expect(openSockets(user).map((s) => tokenOf(s.url()))).toEqual([fresh, fresh])
    await drawStroke(page, [[40, 40], [140, 90]])
    await expectStrokeCount(page, 1)
    await expect.poll(async () => svgStrokeColors(await canvasSvg(env, groupId, page)).length).toBe(1)
  })
})
