/**
 * Edits made while the server cannot be reached are kept in IndexedDB: they survive a reload
 * of the page and reach the server once it can be reached again.
 *
 * Only the collab WebSockets are cut (Playwright's routeWebSocket closes each attempt with 1013,
 * "try again later"), so the page itself can still be reloaded over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MessagePageResponse } from '../../shared/api.ts'
import { createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import type { Page } from 'playwright-core'
import {
  canvasSvg, chatTexts, drawStroke, expectStrokeCount, logInViaUi, openUserPage, postChat, svgStrokeColors, useBrowserEnv,
  waitForStatus, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()

describe('edits without a connection', () => {
  let owner: TestUser
  let user: UserPage
  let groupId = ''
  let socketsBlocked = true

  beforeAll(async () => {
    owner = await registerUser(env.api, 'Ida')
    groupId = (await createGroup(env.api, owner, 'Notebook')).id
    user = await openUserPage(env)
    await user.page.routeWebSocket(/\/collab\//, (socket) => {
      if (socketsBlocked) void socket.close({ code: 1013, reason: 'cut by the test' })
      else socket.connectToServer()
    })
    await logInViaUi(user.page, owner.email)
  })

  afterAll(async () => {
    await user?.context.close()
  })

  it('survive a reload and sync once the server is reachable', async () => {
    const { page } = user
    await page.goto(`${env.server.url}/#/groups/${groupId}`)
    await waitForStatus(page, 'connecting')
    await drawStroke(page, [[100, 100], [200, 150]])
    await drawStroke(page, [[120, 300], [260, 280]])
    await postChat(page, 'written without a connection')
    await expectStrokeCount(page, 2)
    expect(svgStrokeColors(await canvasSvg(env, groupId, page))).toEqual([])

    // Reload only once IndexedDB holds what the test checks after it: both strokes and the message.
    await expect.poll(() => storedUpdates(page, 'written without a connection')).toBeGreaterThan(0)
    await expect.poll(() => storedUpdates(page, 'tool')).toBeGreaterThanOrEqual(2)
    await page.reload()
    await page.locator('[data-testid="group-page"][data-group-id]').waitFor()
    await expectStrokeCount(page, 2)
    await expect.poll(() => chatTexts(page)).toEqual(['written without a connection'])
    await waitForStatus(page, 'connecting')

    socketsBlocked = false
    await waitForStatus(page, 'connected')
    await expect.poll(async () => svgStrokeColors(await canvasSvg(env, groupId, page)).length).toBe(2)
    const messages = await env.api<MessagePageResponse>('GET', `/groups/${groupId}/messages`, { token: owner.token })
    expect(messages.body.messages.map((m) => m.text)).toEqual(['written without a connection'])
  })
})

/** How many updates the page's IndexedDB (y-indexeddb's `updates` stores) holds that contain `text`. */
function storedUpdates(page: Page, text: string): Promise<number> {
  return page.evaluate(async (needle) => {
    const wanted = new TextEncoder().encode(needle)
    const contains = (bytes: Uint8Array): boolean => {
      outer: for (let i = 0; i + wanted.length <= bytes.length; i++) {
        for (let j = 0; j < wanted.length; j++) if (bytes[i + j] !== wanted[j]) continue outer
        return true
      }
      return false
    }
    const request = <T>(r: IDBRequest<T>): Promise<T> => new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
    let count = 0
    for (const { name } of await indexedDB.databases()) {
      if (!name) continue
      const db = await request(indexedDB.open(name))
      try {
        if (!db.objectStoreNames.contains('updates')) continue
        const stored = await request(db.transaction('updates').objectStore('updates').getAll())
        count += stored.filter((value) => value instanceof Uint8Array && contains(value)).length
      } finally {
        db.close()
      }
    }
    return count
  }, text)
}
