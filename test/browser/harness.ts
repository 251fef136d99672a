/**
 * Browser tests: the bundled web client, served by a real server on port 0, driven in Debian's
 * Chromium (/usr/bin/chromium) through playwright-core. No browser is ever downloaded.
 *
 * `useBrowserEnv()` builds the bundle, starts the server and Chromium in beforeAll and closes
 * them in afterAll. Each user gets their own browser context (own localStorage, IndexedDB and
 * network emulation), like two people on two machines.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page, type WebSocket } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import type { Config } from '../../server/config.ts'
import { buildWeb } from '../../web/build.ts'
import { createGroup, fetchApi, registerUser, type Api } from '../helpers/api.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'

export const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts')
/** Test users' password (the REST helpers register users with it too). */
export const PASSWORD = 'correct horse battery'
const WAIT_MS = 15_000

export interface BrowserEnv {
  server: TestServer
  browser: Browser
  api: Api
}

/** `launch: false` for tests of what the server sends, which need no browser. */
export function useBrowserEnv(overrides: Partial<Config> = {}, options: { launch?: boolean } = {}): BrowserEnv {
  const env = {} as BrowserEnv
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  beforeAll(async () => {
    await buildWeb()
    dir = await tempDir('collab-browser-')
    env.server = await startServer({ dataDir: dir.path, ...overrides })
    env.api = fetchApi(env.server.url)
    if (options.launch !== false) env.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })
  afterAll(async () => {
    await env.browser?.close()
    await env.server?.close()
    await dir?.remove()
  })
  return env
}

export interface UserPage {
  context: BrowserContext
  page: Page
  /** Uncaught page errors and console errors (CSP violations show up here). */
  errors: string[]
  /** Every WebSocket the page opened, in order. */
  sockets: WebSocket[]
}

/** The page's collab sockets that are open now. */
export function openSockets(user: UserPage): WebSocket[] {
  return user.sockets.filter((socket) => socket.url().includes('/collab/') && !socket.isClosed())
}

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

export async function openUserPage(env: BrowserEnv, device: 'desktop' | 'phone' | 'default' = 'default'): Promise<UserPage> {
  const options = device === 'phone' ? { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : { viewport: device === 'desktop' ? DESKTOP : { width: 1100, height: 720 } }
  const context = await env.browser.newContext(options)
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT_MS)
  const errors: string[] = []
  const sockets: WebSocket[] = []
  page.on('websocket', (socket) => sockets.push(socket))
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  await page.goto(env.server.url)
  return { context, page, errors, sockets }
}

/** Console errors a working page still logs while offline: refused WebSocket and fetch attempts. */
export function unexpectedErrors(user: UserPage): string[] {
  return user.errors.filter((error) => !/WebSocket connection to .* failed|ERR_INTERNET_DISCONNECTED/.test(error))
}

let users = 0

export async function signUpViaUi(page: Page, name: string): Promise<string> {
  const email = `${name.toLowerCase()}-${process.pid}-${users++}@example.test`
  await page.getByTestId('auth-toggle').click()
  await page.getByTestId('auth-name').fill(name)
  await page.getByTestId('auth-email').fill(email)
  await page.getByTestId('auth-password').fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await page.getByTestId('user-name').filter({ hasText: name }).waitFor()
  return email
}

export async function logInViaUi(page: Page, email: string): Promise<void> {
  await page.getByTestId('auth-email').fill(email)
  await page.getByTestId('auth-password').fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await page.getByTestId('group-list').waitFor()
}

/** Creates a group from the groups page; resolves with its id once its page is open. */
export async function createGroupViaUi(page: Page, name: string): Promise<string> {
  await page.getByTestId('new-group-name').fill(name)
  await page.getByTestId('new-group-submit').click()
  return openedGroupId(page)
}

/** Makes an invite link in the Members panel (opened and closed here); resolves with its code. */
export async function inviteViaUi(page: Page, role: 'editor' | 'viewer' = 'editor'): Promise<string> {
  return (await inviteLinkViaUi(page, role)).split('/join/')[1] ?? ''
}

export async function inviteLinkViaUi(page: Page, role: 'editor' | 'viewer' = 'editor', expiry = '604800'): Promise<string> {
  await page.getByTestId('members-toggle').click()
  await page.getByTestId('invite-role').selectOption(role)
  await page.getByTestId('invite-expiry').selectOption(expiry)
  await page.getByTestId('invite-create').click()
  const link = page.locator('[data-testid="invite-link"][data-code]')
  await link.waitFor()
  const value = await link.inputValue()
  await page.getByTestId('members-close').click()
  return value
}

/** Answers the open confirmation dialog; resolves with what it said would change. */
export async function confirmViaUi(page: Page, answer: 'ok' | 'cancel' = 'ok'): Promise<string[]> {
  const dialog = page.getByTestId('confirm-dialog')
  await dialog.waitFor()
  const preview = dialog.getByTestId('change-preview')
  let lines: string[] = []
  if (await preview.count() > 0) {
    await dialog.locator('[data-testid="change-preview"]:not([aria-busy])').waitFor()
    lines = await preview.locator('li').allTextContents()
  }
  await dialog.getByTestId(answer === 'ok' ? 'confirm-ok' : 'confirm-cancel').click()
  await dialog.waitFor({ state: 'detached' })
  return lines
}

export async function joinViaUi(page: Page, code: string): Promise<string> {
  await page.getByTestId('join-code').fill(code)
  await page.getByTestId('join-submit').click()
  return openedGroupId(page)
}

/** Ann signs up and creates a group through the UI; Bob signs up and joins it by her invite. */
export async function twoMembersViaUi(env: BrowserEnv, groupName: string): Promise<{ ann: UserPage; bob: UserPage; groupId: string }> {
  const [ann, bob] = await Promise.all([openUserPage(env), openUserPage(env)])
  await Promise.all([signUpViaUi(ann.page, 'Ann'), signUpViaUi(bob.page, 'Bob')])
  const groupId = await createGroupViaUi(ann.page, groupName)
  const code = await inviteViaUi(ann.page)
  expect(await joinViaUi(bob.page, code)).toBe(groupId)
  return { ann, bob, groupId }
}

export interface OwnerOnGroupPage {
  user: UserPage
  groupId: string
}

/**
 * One user who owns one group (set up over REST), logged in through the UI with the group's page
 * open, for the tests of the enclosing scope; the context is closed after them.
 */
export function useOwnerOnGroupPage(env: BrowserEnv, name: string, groupName: string): OwnerOnGroupPage {
  const owner = {} as OwnerOnGroupPage
  beforeAll(async () => {
    const account = await registerUser(env.api, name)
    owner.groupId = (await createGroup(env.api, account, groupName)).id
    owner.user = await openUserPage(env)
    await logInViaUi(owner.user.page, account.email)
    await openGroup(owner.user.page, owner.groupId)
  })
  afterAll(async () => {
    await owner.user?.context.close()
  })
  return owner
}

export async function openGroup(page: Page, groupId: string): Promise<void> {
  await page.goto(`${new URL(page.url()).origin}/#/groups/${groupId}`)
  await openedGroupId(page)
}

async function openedGroupId(page: Page): Promise<string> {
  const group = page.locator('[data-testid="group-page"][data-group-id]')
  await group.waitFor()
  await waitForStatus(page, 'connected')
  return (await group.getAttribute('data-group-id')) ?? ''
}

export async function waitForStatus(page: Page, status: 'connected' | 'connecting' | 'offline'): Promise<void> {
  await page.locator(`[data-testid="connection-status"][data-status="${status}"]`).waitFor()
}

/** Picks a colour; on a narrow board (a phone, a panel open) through the tools menu. */
export async function chooseColor(page: Page, color: string): Promise<void> {
  const input = page.getByTestId('color')
  const folded = !(await input.isVisible())
  if (folded) await page.getByTestId('tool-menu').click()
  await input.fill(color)
  if (folded) await page.getByTestId('tool-menu').click()
}

/** Picks a tool; on a narrow board through the tools menu (which closes on a pick). */
export async function selectTool(page: Page, tool: 'pen' | 'marker' | 'highlighter' | 'eraser' | 'hand'): Promise<void> {
  const button = page.getByTestId(`tool-${tool}`)
  if (!(await button.isVisible())) await page.getByTestId('tool-menu').click()
  await button.click()
  await page.locator(`[data-testid="tool-${tool}"][aria-pressed="true"]`).waitFor({ state: 'attached' })
}

/** Drags the mouse through `points` (canvas coordinates), as a person drawing would. */
export async function drawStroke(page: Page, points: ReadonlyArray<readonly [number, number]>): Promise<void> {
  const box = await page.getByTestId('canvas').boundingBox()
  if (!box) throw new Error('canvas not visible')
  const [first, ...rest] = points
  if (!first) return
  await page.mouse.move(box.x + first[0], box.y + first[1])
  await page.mouse.down()
  for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 3 })
  await page.mouse.up()
}

export async function strokeCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('canvas').getAttribute('data-stroke-count'))
}

export async function expectStrokeCount(page: Page, count: number): Promise<void> {
  await expect.poll(() => strokeCount(page), { timeout: WAIT_MS }).toBe(count)
}

/** Posts in the chat; on a phone it opens the chat drawer for that and closes it again. */
export async function postChat(page: Page, text: string): Promise<void> {
  const toggle = page.getByTestId('chat-toggle')
  const opened = await toggle.isVisible() && await toggle.getAttribute('aria-expanded') !== 'true'
  if (opened) await toggle.click()
  await page.getByTestId('chat-input').fill(text)
  await page.getByTestId('chat-send').click()
  if (opened) await toggle.click()
}

export async function chatTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="chat-message"] .message-text').allTextContents()
}

/** The signed-in user's current access token, as the page stored it. */
export async function pageToken(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(localStorage.getItem('collab.session') ?? '{}') as { accessToken?: string }).accessToken ?? '')
}

/** GET /groups/:id/canvas.svg as the page's user. */
export async function canvasSvg(env: BrowserEnv, groupId: string, page: Page): Promise<string> {
  const response = await fetch(`${env.server.url}/groups/${groupId}/canvas.svg`, { headers: { authorization: `Bearer ${await pageToken(page)}` } })
  if (response.status !== 200 || !/^image\/svg\+xml/.test(response.headers.get('content-type') ?? '')) throw new Error(`canvas.svg answered ${response.status}`)
  return response.text()
}

/** The stroke colours in an SVG picture, in paint order (one <path> per stroke). */
export function svgStrokeColors(svg: string): string[] {
  return [...svg.matchAll(/<path [^>]*stroke="(#[0-9a-fA-F]{6})"/g)].map((match) => match[1] ?? '')
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true })
  return path.join(ARTIFACTS, name)
}
