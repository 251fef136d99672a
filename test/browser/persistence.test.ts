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
import { sleep } from '../helpers/wait.ts'
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

    await sleep(300) // let IndexedDB commit the last update before the page goes away
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
