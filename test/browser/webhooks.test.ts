/**
 * The Webhooks panel (issue 22, the web app's part), on a 390x844 phone, against a real HTTP
 * receiver: Ann, the owner, adds a webhook (its secret shown once, and it is the key deliveries
 * are signed with), sees a refused URL and the quota in plain words, watches a delivery fail
 * (HTTP 500) and the webhook turn failing, then disabled with the server's reason; the receiver
 * recovers, Retry on the failed delivery enables the webhook again and everything is delivered.
 * She deletes it after confirming. Bob, an editor, is offered no webhooks at all.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { startReceiver, verifySignature, type Receiver } from '../feed/webhook-receiver.ts'
import { confirmViaUi, logInViaUi, openGroup, openUserPage, unexpectedErrors, useBrowserEnv, type UserPage } from './harness.ts'

// Retries 100 ms apart give up after 1 s (the delivery is failed); a webhook failing 1.5 s without
// a success is disabled: the next event's failure disables it. One webhook per group: the quota.
const env = useBrowserEnv({
  webhookAllowedHosts: ['127.0.0.1'], webhookRetryBaseMs: 100, webhookPollMs: 50, webhookTimeoutMs: 1_000,
  webhookRetryWindowMs: 1_000, webhookDisableAfterMs: 1_500, maxWebhooksPerGroup: 1,
})
const WAIT_MS = 15_000

async function openWebhooks(page: Page): Promise<void> {
  if (await page.getByTestId('webhooks-panel').count() === 0) await page.getByTestId('webhooks-toggle').click()
  await page.locator('[data-testid="webhook-list"]:not([aria-busy])').waitFor()
}

async function addWebhook(page: Page, url: string): Promise<void> {
  await page.getByTestId('webhook-url').fill(url)
  await page.getByTestId('webhook-add').click()
}

function text(page: Page, testId: string): () => Promise<string | null> {
  return () => page.getByTestId(testId).textContent()
}

describe('the webhooks panel', () => {
  let receiver: Receiver
  let ann: UserPage
  let bob: UserPage
  let owner: TestUser
  let member: TestUser
  let groupId = ''
  let secret = ''

  beforeAll(async () => {
    receiver = await startReceiver(500)
    owner = await registerUser(env.api, 'Ann')
    member = await registerUser(env.api, 'Bob')
    groupId = (await createGroup(env.api, owner, 'Hooked')).id
    ;[ann, bob] = await Promise.all([openUserPage(env, 'phone'), openUserPage(env, 'phone')])
    await ann.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.server.url })
    await logInViaUi(ann.page, owner.email)
    await openGroup(ann.page, groupId)
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
    await receiver?.close()
  })

  it('adds a webhook and shows its secret once, with a copy button and a warning', async () => {
    await openWebhooks(ann.page)
    const drawer = await ann.page.getByTestId('webhooks-panel').boundingBox()
    expect(drawer && drawer.x >= 0 && drawer.x + drawer.width <= 390 && drawer.y + drawer.height <= 844).toBe(true)
    expect(await ann.page.getByTestId('webhook-list').textContent()).toBe('No webhooks yet.')
    await addWebhook(ann.page, `${receiver.url}/hook`)
    const box = ann.page.getByTestId('webhook-secret-box')
    await box.waitFor()
    expect(await box.textContent()).toContain('it is shown only this once')
    secret = await ann.page.getByTestId('webhook-secret').inputValue()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    await ann.page.getByTestId('webhook-secret-copy').click()
    await expect.poll(text(ann.page, 'webhook-secret-copy'), { timeout: WAIT_MS }).toBe('Copied')
    expect(await ann.page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
    const row = ann.page.getByTestId('webhook-row')
    await expect.poll(() => row.count(), { timeout: WAIT_MS }).toBe(1)
    expect(await row.getByTestId('webhook-url-text').textContent()).toBe(`${receiver.url}/hook`)
    expect(await row.getByTestId('webhook-events').textContent()).toBe('All events')
    expect(await row.getAttribute('data-state')).toBe('healthy')
    // Dismissed, or the panel reopened: the secret is nowhere on the page any more.
    await ann.page.getByTestId('webhook-secret-done').click()
    expect(await box.isHidden()).toBe(true)
    await ann.page.getByTestId('webhooks-toggle').click()
    await openWebhooks(ann.page)
    expect(await ann.page.getByTestId('webhook-secret-box').isHidden()).toBe(true)
    expect(await ann.page.getByTestId('webhook-secret').inputValue()).toBe('')
  })

  it('says in plain words why a URL is refused (400) and when the group has all the webhooks it may (409)', async () => {
    await addWebhook(ann.page, 'http://10.0.0.1/hook')
    await expect.poll(text(ann.page, 'webhooks-error'), { timeout: WAIT_MS }).toMatch(/^That URL was refused: its host must resolve .* only to public addresses/)
    await addWebhook(ann.page, `${receiver.url}/second`)
    await expect.poll(text(ann.page, 'webhooks-error'), { timeout: WAIT_MS }).toBe('A group has at most 1 webhooks. Delete one before adding another.')
    expect(await ann.page.getByTestId('webhook-secret-box').isHidden()).toBe(true)
    expect(await ann.page.getByTestId('webhook-row').count()).toBe(1)
  })

  it('lists a failing delivery with its HTTP status; the webhook turns failing, then disabled with the reason', async () => {
    await addMember(env.api, owner, groupId, member) // member.added: recorded at once
    const row = ann.page.getByTestId('webhook-row')
    await row.getByTestId('deliveries-toggle').click()
    const delivery = row.getByTestId('delivery-row')
    await expect.poll(() => delivery.first().getAttribute('data-status'), { timeout: WAIT_MS }).toBe('failed')
    expect(await delivery.first().locator('.delivery-event').textContent()).toBe('member.added')
    expect(await delivery.first().getByTestId('delivery-detail').textContent()).toMatch(/^\d+ attempts · last: HTTP 500$/)
    await expect.poll(() => row.getByTestId('webhook-state').textContent(), { timeout: WAIT_MS }).toMatch(/^Failing since \d/)
    expect(await row.getAttribute('data-state')).toBe('failing')
    // The next event fails too, past WEBHOOK_DISABLE_AFTER_MS: the webhook is disabled, and why.
    expect((await env.api('PATCH', `/groups/${groupId}/members/${member.id}`, { token: owner.token, body: { role: 'viewer' } })).status).toBe(200)
    await expect.poll(() => row.getAttribute('data-state'), { timeout: WAIT_MS }).toBe('disabled')
    expect(await row.getByTestId('webhook-state').textContent()).toMatch(/^Disabled since .+: Deliveries failed for 0 min without a success; last: answered 500\.$/)
    await expect.poll(() => delivery.count(), { timeout: WAIT_MS }).toBe(2)
    expect(await delivery.first().locator('.delivery-event').textContent()).toBe('member.role_changed')
    expect(await delivery.first().getAttribute('data-status')).toBe('pending')
    expect(await delivery.first().getByTestId('delivery-detail').textContent()).toMatch(/· last: HTTP 500 · waits for a retry by hand$/)
  })

  it('retries a failed delivery once the receiver is back: the webhook is enabled again and everything is delivered', async () => {
    receiver.fallback = 200
    const row = ann.page.getByTestId('webhook-row')
    const failed = row.locator('[data-testid="delivery-row"][data-status="failed"]')
    await failed.getByTestId('delivery-retry').click()
    await expect.poll(text(ann.page, 'webhooks-status'), { timeout: WAIT_MS }).toBe('Trying that delivery again.')
    await expect.poll(() => row.locator('[data-testid="delivery-row"][data-status="delivered"]').count(), { timeout: WAIT_MS }).toBe(2)
    await expect.poll(() => row.getAttribute('data-state'), { timeout: WAIT_MS }).toBe('healthy')
    expect(await row.getByTestId('webhook-state').textContent()).toBe('Healthy')
    expect(await row.getByTestId('delivery-detail').last().textContent()).toMatch(/ attempts · last: HTTP 200$/)
    expect(await row.getByTestId('delivery-retry').count()).toBe(0)
    // The secret the page showed is the key the deliveries are signed with.
    const delivered = receiver.received.filter((request) => request.path === '/hook').at(-1)
    expect(delivered && verifySignature(secret, delivered)).toBe(true)
  })

  it('offers no webhooks to a member who is not the owner', async () => {
    await logInViaUi(bob.page, member.email)
    await openGroup(bob.page, groupId)
    expect(await bob.page.getByTestId('group-role').textContent()).toBe('viewer')
    expect(await bob.page.getByTestId('members-toggle').isVisible()).toBe(true)
    expect(await bob.page.getByTestId('webhooks-toggle').isHidden()).toBe(true)
    expect(await bob.page.getByTestId('webhooks-panel').count()).toBe(0)
  })

  it('deletes the webhook only after confirming', async () => {
    await ann.page.getByTestId('webhook-delete').click()
    await confirmViaUi(ann.page, 'cancel')
    expect(await ann.page.getByTestId('webhook-row').count()).toBe(1)
    await ann.page.getByTestId('webhook-delete').click()
    await confirmViaUi(ann.page, 'ok')
    await expect.poll(text(ann.page, 'webhook-list'), { timeout: WAIT_MS }).toBe('No webhooks yet.')
    expect(await ann.page.getByTestId('webhooks-status').textContent()).toBe(`The webhook to ${receiver.url}/hook was deleted.`)
    const reply = await env.api<{ webhooks: unknown[] }>('GET', `/groups/${groupId}/webhooks`, { token: owner.token })
    expect(reply.body.webhooks).toEqual([])
    for (const user of [ann, bob]) expect(unexpectedErrors(user).filter((e) => !/status of (400|409)/.test(e))).toEqual([])
  })
})
