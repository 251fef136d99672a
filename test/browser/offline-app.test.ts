/**
 * Offline-first (issue 23, items 8 and 9), on a 1280x800 desktop and a 390x844 phone: once the
 * app was opened, its service worker keeps the app shell, so the group page reloads with no
 * network at all and shows the local copy (canvas and chat from IndexedDB, the group from
 * localStorage); an edit made then is "not yet saved" until the server acknowledges it after the
 * network returns. The web app manifest is linked for installing. Logging out removes this
 * browser's copies (IndexedDB and the kept group details) and says so.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGroup, registerUser } from '../helpers/api.ts'
import {
  chatTexts, drawStroke, expectStrokeCount, logInViaUi, openGroup, openUserPage, postChat, unexpectedErrors,
  useBrowserEnv, waitForStatus, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()
const WAIT_MS = 15_000

async function localDatabases(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name ?? '').filter((name) => name.startsWith('collab:')).sort())
}

describe.each(['desktop', 'phone'] as const)('the app offline on a %s', (device) => {
  let user: UserPage
  let groupId = ''

  beforeAll(async () => {
    const account = await registerUser(env.api, 'Nadia')
    groupId = (await createGroup(env.api, account, `Offline ${device}`)).id
    user = await openUserPage(env, device)
    await logInViaUi(user.page, account.email)
    await openGroup(user.page, groupId)
  })

  afterAll(async () => {
    await user?.context.close()
  })

  it('reloads the group page with no network, from the service worker and the local copy', async () => {
    const { page } = user
    expect(await page.locator('link[rel="manifest"]').getAttribute('href')).toBe('/manifest.webmanifest')
    await drawStroke(page, [[60, 80], [140, 120], [220, 160]])
    await postChat(page, 'written online')
    await page.locator('[data-testid="save-status-canvas"][data-state="saved"]').waitFor()
    await page.locator('[data-testid="save-status-chat"][data-state="saved"]').waitFor()
    // The worker controls the page once it has activated (it claims open pages).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: WAIT_MS })

    await user.context.setOffline(true)
    await page.reload()
    await page.locator(`[data-testid="group-page"][data-group-id="${groupId}"]`).waitFor()
    await waitForStatus(page, 'offline')
    await expectStrokeCount(page, 1)
    await expect.poll(() => chatTexts(page), { timeout: WAIT_MS }).toEqual(['written online'])

    await drawStroke(page, [[80, 260], [200, 280]])
    await expectStrokeCount(page, 2)
    await page.locator('[data-testid="save-status-canvas"][data-state="unsaved"]').waitFor()
    await user.context.setOffline(false)
    await waitForStatus(page, 'connected')
    await page.locator('[data-testid="save-status-canvas"][data-state="saved"]').waitFor()
  })

  it('removes the local copies when logging out, and says so', async () => {
    const { page } = user
    expect(await localDatabases(page)).toHaveLength(2) // the canvas and the chat
    await page.getByTestId('logout').click()
    await expect.poll(() => page.getByTestId('signed-out-note').textContent(), { timeout: WAIT_MS }).toBe('Logged out. The copies of your groups kept in this browser were removed.')
    expect(await localDatabases(page)).toEqual([])
    expect(await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('collab.')))).toEqual([])
    expect(unexpectedErrors(user)).toEqual([])
  })
})
