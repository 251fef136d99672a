/**
 * A group runs its life in the app (issue 23, item 1): Ann, on a 1280x800 desktop, invites by a
 * link with a role and an expiry; Bob, on a 390x844 phone, opens the link signed out, signs up
 * and lands in the group as a viewer. Ann makes him an editor (his page turns writable), revokes
 * the invite (the link stops working), and a pasted whole link joins Cara. Ann removes Bob: his
 * open page says so at once, turns read-only, and offers his copy for export. Ann renames the
 * group, hands it to Cara and leaves; Cara, on her phone, deletes it after typing its name.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  artifactPath, createGroupViaUi, drawStroke, expectStrokeCount, inviteLinkViaUi, openUserPage, signUpViaUi,
  unexpectedErrors, useBrowserEnv, waitForStatus, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()
const WAIT_MS = 15_000

async function openMembers(page: Page): Promise<void> {
  if (await page.getByTestId('members-panel').count() === 0) await page.getByTestId('members-toggle').click()
  await page.locator('[data-testid="member-list"]:not([aria-busy])').waitFor()
}

function memberRow(page: Page, name: string) {
  return page.getByTestId('member-row').filter({ hasText: name })
}

describe('members, invite links and the group\'s life', () => {
  let ann: UserPage
  let bob: UserPage
  let cara: UserPage
  let groupId = ''
  let link = ''

  beforeAll(async () => {
    ;[ann, bob, cara] = await Promise.all([openUserPage(env, 'desktop'), openUserPage(env, 'phone'), openUserPage(env, 'phone')])
    await signUpViaUi(ann.page, 'Ann')
    groupId = await createGroupViaUi(ann.page, 'Sketch club')
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close(), cara?.context.close()])
  })

  it('makes an invite link with a role and an expiry, and lists it as a live invite', async () => {
    link = await inviteLinkViaUi(ann.page, 'viewer', '86400')
    expect(link).toMatch(new RegExp(`^${env.server.url}/join/[A-Za-z0-9_-]{22}$`))
    await openMembers(ann.page)
    const invite = ann.page.getByTestId('invite-row')
    await expect.poll(() => invite.textContent(), { timeout: WAIT_MS }).toMatch(/^Viewer · until .+ · used 0 of 25Revoke$/)
    await ann.page.getByTestId('members-close').click()
  })

  it('lets a signed-out person open the link, sign up, and land in the group with that role', async () => {
    await bob.page.goto(link)
    await bob.page.getByTestId('join-hint').waitFor()
    await signUpViaUi(bob.page, 'Bob')
    await bob.page.locator(`[data-testid="group-page"][data-group-id="${groupId}"]`).waitFor()
    await waitForStatus(bob.page, 'connected')
    expect(new URL(bob.page.url()).pathname).toBe('/')
    expect(await bob.page.getByTestId('group-role').textContent()).toBe('viewer')
    expect(await bob.page.getByTestId('tool-pen').count()).toBe(0)
  })

  it('changes a role: the person\'s open page turns writable', async () => {
    await openMembers(ann.page)
    await memberRow(ann.page, 'Bob').getByTestId('member-role').selectOption('editor')
    await expect.poll(() => ann.page.getByTestId('members-status').textContent(), { timeout: WAIT_MS }).toBe('Bob is now an editor.')
    await bob.page.getByTestId('tool-menu').waitFor() // the phone's tools menu: drawing tools are back
    expect(await bob.page.getByTestId('group-role').textContent()).toBe('editor')
    const box = await bob.page.getByTestId('canvas').boundingBox()
    if (!box) throw new Error('no canvas on the phone')
    await drawStroke(bob.page, [[40, 60], [120, 90], [200, 140]])
    await expectStrokeCount(ann.page, 1)
  })

  it('revokes an invite: its link stops working; a whole pasted link joins', async () => {
    await ann.page.getByTestId('invite-row').getByTestId('invite-revoke').click()
    await expect.poll(() => ann.page.getByTestId('invite-list').textContent(), { timeout: WAIT_MS }).toBe('No live invites.')
    await ann.page.getByTestId('members-close').click()
    await signUpViaUi(cara.page, 'Cara')
    await cara.page.getByTestId('join-code').fill(link)
    await cara.page.getByTestId('join-submit').click()
    await expect.poll(() => cara.page.getByTestId('groups-error').textContent(), { timeout: WAIT_MS }).toBe('No such invite.')
    const fresh = await inviteLinkViaUi(ann.page, 'editor')
    await cara.page.getByTestId('join-code').fill(`Join us: ${fresh}`)
    await cara.page.getByTestId('join-submit').click()
    await cara.page.locator(`[data-testid="group-page"][data-group-id="${groupId}"]`).waitFor()
    expect(await cara.page.getByTestId('group-role').textContent()).toBe('editor')
  })

  it('removes a member: their open page says so at once, turns read-only, and exports its copy', async () => {
    await openMembers(ann.page)
    await memberRow(ann.page, 'Bob').getByTestId('member-remove').click()
    await ann.page.getByTestId('confirm-ok').click()
    await expect.poll(() => ann.page.getByTestId('member-row').count(), { timeout: WAIT_MS }).toBe(2)
    const problem = bob.page.getByTestId('access-problem')
    await expect.poll(() => problem.getAttribute('data-lost'), { timeout: WAIT_MS }).toBe('removed')
    expect(await problem.textContent()).toContain('You are no longer a member of this group')
    expect(await bob.page.getByTestId('tool-pen').count()).toBe(0)
    expect(await bob.page.getByTestId('chat-input').count()).toBe(0)
    const [download] = await Promise.all([bob.page.waitForEvent('download'), bob.page.getByTestId('export-canvas').click()])
    expect(download.suggestedFilename()).toBe('Sketch-club-canvas.png')
    const [messages] = await Promise.all([bob.page.waitForEvent('download'), bob.page.getByTestId('export-messages').click()])
    expect(messages.suggestedFilename()).toBe('Sketch-club-unsent-messages.txt')
  })

  it('renames the group, hands it to another member, and leaves it', async () => {
    await ann.page.getByTestId('group-rename-input').fill('Sketch club (Tuesdays)')
    await ann.page.getByTestId('group-rename-save').click()
    await expect.poll(() => ann.page.getByTestId('group-name').textContent(), { timeout: WAIT_MS }).toBe('Sketch club (Tuesdays)')
    await memberRow(ann.page, 'Cara').getByTestId('member-transfer').click()
    await ann.page.getByTestId('confirm-ok').click()
    await expect.poll(() => ann.page.getByTestId('group-role').textContent(), { timeout: WAIT_MS }).toBe('editor')
    await expect.poll(() => cara.page.getByTestId('group-role').textContent(), { timeout: WAIT_MS }).toBe('owner')
    await openMembers(ann.page)
    await ann.page.getByTestId('group-leave').click()
    await ann.page.getByTestId('confirm-ok').click()
    await ann.page.locator('[data-testid="group-list"]:not([aria-busy])').waitFor()
    expect(await ann.page.getByTestId('group-link').count()).toBe(0)
  })

  it('deletes the group from a phone only after its name is typed', async () => {
    // The README's picture of the Members panel on a phone (copied to docs/using-the-app.png).
    await openMembers(cara.page)
    await cara.page.getByTestId('invite-role').selectOption('viewer')
    await cara.page.getByTestId('invite-expiry').selectOption('86400')
    await cara.page.getByTestId('invite-create').click()
    await cara.page.locator('[data-testid="invite-link"][data-code]').waitFor()
    await cara.page.screenshot({ path: await artifactPath('using-the-app.png'), scale: 'css' })
    await expect.poll(() => cara.page.getByTestId('group-rename-input').inputValue(), { timeout: WAIT_MS }).toBe('Sketch club (Tuesdays)') // renamed by Ann
    expect(await cara.page.getByTestId('group-name').textContent()).toBe('Sketch club (Tuesdays)')
    const remove = cara.page.getByTestId('group-delete')
    await cara.page.getByTestId('group-delete-confirm').fill('Sketch club')
    expect(await remove.isDisabled()).toBe(true)
    await cara.page.getByTestId('group-delete-confirm').fill('Sketch club (Tuesdays)')
    await remove.click()
    await cara.page.locator('[data-testid="group-list"]:not([aria-busy])').waitFor()
    expect(await cara.page.getByTestId('group-link').count()).toBe(0)
    for (const user of [ann, bob, cara]) expect(unexpectedErrors(user).filter((e) => !/status of 40[34]/.test(e))).toEqual([])
  })
})
