/**
 * Version history in the web client, two people in two browsers, everything through the UI:
 * Ann draws, names a version, erases everything, restores the named version (both pages show the
 * drawing again), then undoes the restore from its "Before restoring" version (both see the
 * erased canvas again). Then Bob draws and erases one of Ann's strokes, and Ann, the owner, rolls
 * back Bob from a version before that: his stroke goes, hers comes back, on both pages. The chat
 * has versions too (preview of its messages, restore). Closing the panel revokes its pictures'
 * object URLs; "Older versions" pages through the list without gaps or repeats. Restores and
 * rollbacks are asked for first, with what they change, and every member gets a notice. Last, Bob
 * loses his editor role while his page is open: it says so and turns read-only.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  artifactPath, canvasSvg, chatTexts, chooseColor, confirmViaUi, drawStroke, expectStrokeCount, pageToken, postChat,
  selectTool, svgStrokeColors, twoMembersViaUi, unexpectedErrors, useBrowserEnv, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()
const RED = '#d81b60'
const BLUE = '#3949ab'
const GREEN = '#00897b'
const WAIT_MS = 15_000

const FIRST: Array<[number, number]> = [[60, 60], [120, 90], [180, 140]]
const SECOND: Array<[number, number]> = [[80, 260], [160, 250], [240, 270]]

function version(page: Page, name: string): Locator {
  return page.locator(`[data-testid="version-item"][data-version-name="${name.replace(/"/g, '\\"')}"]`)
}

async function openHistory(page: Page): Promise<void> {
  await page.getByTestId('history-toggle').click()
  await page.getByTestId('history-panel').waitFor()
}

async function nameVersion(page: Page, name: string): Promise<void> {
  await page.getByTestId('version-name-input').fill(name)
  await page.getByTestId('version-name-save').click()
  await expect.poll(() => page.getByTestId('version-item').first().getAttribute('data-version-name'), { timeout: WAIT_MS }).toBe(name)
}

/** Clicks a point of a stroke with the eraser (the mouse barely moves, as a tap). */
async function eraseAt(page: Page, [x, y]: [number, number]): Promise<void> {
  await selectTool(page, 'eraser')
  await drawStroke(page, [[x, y], [x + 1, y + 1]])
}

async function liveColors(user: UserPage, groupId: string): Promise<string[]> {
  return svgStrokeColors(await canvasSvg(env, groupId, user.page))
}

/** Both pages show `count` strokes, and the group's picture has these colours in paint order. */
async function expectBothSee(users: UserPage[], groupId: string, colors: string[]): Promise<void> {
  for (const user of users) await expectStrokeCount(user.page, colors.length)
  for (const user of users) expect(await liveColors(user, groupId)).toEqual(colors)
}

/** An <img> that shows a picture loaded from an object URL. */
async function expectBlobPicture(image: Locator): Promise<void> {
  await expect.poll(() => image.getAttribute('src'), { timeout: WAIT_MS }).toMatch(/^blob:/)
  await expect.poll(() => image.evaluate((element) => (element as HTMLImageElement).complete && (element as HTMLImageElement).naturalWidth > 0), { timeout: WAIT_MS }).toBe(true)
}

describe('version history in the browser', () => {
  let ann: UserPage
  let bob: UserPage
  let groupId = ''

  beforeAll(async () => {
    ;({ ann, bob, groupId } = await twoMembersViaUi(env, 'History club'))
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
  })

  it('names a version, restores it after everything was erased, and undoes the restore', async () => {
    await chooseColor(ann.page, RED)
    await drawStroke(ann.page, FIRST)
    await chooseColor(ann.page, BLUE)
    await drawStroke(ann.page, SECOND)
    await expectBothSee([ann, bob], groupId, [RED, BLUE])

    await openHistory(ann.page)
    await nameVersion(ann.page, 'Two strokes')
    const named = version(ann.page, 'Two strokes')
    await expectBlobPicture(named.getByTestId('version-thumb'))
    expect(await named.locator('.version-authors').textContent()).toBe('Edits by Ann')
    expect(await named.getByTestId('version-made').textContent()).toBe('Named by Ann')

    await eraseAt(ann.page, [120, 90])
    await eraseAt(ann.page, [160, 250])
    await expectBothSee([ann, bob], groupId, [])

    // The preview shows the version and what changed since, and leaves the live canvas alone.
    await named.getByTestId('version-open').click()
    const preview = ann.page.getByTestId('version-preview')
    await expectBlobPicture(preview.getByTestId('version-preview-picture'))
    await expect.poll(() => preview.getByTestId('version-diff').textContent(), { timeout: WAIT_MS }).toBe('Since then: 0 strokes drawn, 2 erased, 0 changed.')
    await expectStrokeCount(ann.page, 0)

    // Asked first, with what it changes; cancelling changes nothing.
    await named.getByTestId('version-restore').click()
    expect(await confirmViaUi(ann.page, 'cancel')).toEqual(['Removes no strokes.', 'Brings back 2 strokes (Ann 2).'])
    await expectStrokeCount(ann.page, 0)
    await named.getByTestId('version-restore').click()
    await confirmViaUi(ann.page)
    await expectBothSee([ann, bob], groupId, [RED, BLUE])
    const before = version(ann.page, 'Before restoring "Two strokes"')
    await expect.poll(() => ann.page.getByTestId('version-item').first().getAttribute('data-version-name'), { timeout: WAIT_MS }).toBe('Before restoring "Two strokes"')
    expect(await before.getByTestId('version-made').textContent()).toBe('Kept before Ann restored "Two strokes": restore it to undo that')
    // Everyone is told, and an editor may undo it from the notice.
    await expect.poll(() => bob.page.getByTestId('notice-text').allTextContents(), { timeout: WAIT_MS }).toEqual(['Ann restored "Two strokes" on the canvas.'])
    expect(await bob.page.getByTestId('notice-undo').count()).toBe(1)
    await expectBlobPicture(before.getByTestId('version-thumb'))
    await expect.poll(() => preview.getByTestId('version-diff').textContent(), { timeout: WAIT_MS }).toBe('Since then: 0 strokes drawn, 0 erased, 0 changed.')
    await ann.page.getByTestId('history-panel').evaluate((panel) => { panel.scrollTop = 0 })
    await ann.page.getByTestId('history-panel').screenshot({ path: await artifactPath('history-panel.png') })
    await ann.page.screenshot({ path: await artifactPath('history-page.png') })

    await before.getByTestId('version-restore').click()
    expect(await confirmViaUi(ann.page)).toEqual(['Removes 2 strokes (Ann 2).', 'Brings back no strokes.'])
    await expectBothSee([ann, bob], groupId, [])
    await version(ann.page, 'Before undoing the restore of "Two strokes"').waitFor()
    expect(await ann.page.getByTestId('history-error').textContent()).toBe('')
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })

  it("lets the owner roll back one person: his stroke goes, the one he erased comes back", async () => {
    await selectTool(ann.page, 'pen')
    await chooseColor(ann.page, RED)
    await drawStroke(ann.page, FIRST)
    await chooseColor(ann.page, BLUE)
    await drawStroke(ann.page, SECOND)
    await expectBothSee([ann, bob], groupId, [RED, BLUE])
    await nameVersion(ann.page, 'Before Bob')

    await chooseColor(bob.page, GREEN)
    await drawStroke(bob.page, [[400, 300], [450, 320], [500, 360]])
    await eraseAt(bob.page, [120, 90]) // Ann's red stroke
    await expectBothSee([ann, bob], groupId, [BLUE, GREEN])

    // Bob, an editor, may restore but not roll anybody back.
    await openHistory(bob.page)
    await version(bob.page, 'Before Bob').getByTestId('version-restore').waitFor()
    expect(await bob.page.getByTestId('rollback-user').count()).toBe(0)
    await bob.page.getByTestId('history-close').click()

    await version(ann.page, 'Before Bob').getByTestId('version-open').click()
    await ann.page.getByTestId('version-rollback-from').click()
    expect(await ann.page.getByTestId('rollback-since').inputValue()).toMatch(/^at:\d+$/)
    await ann.page.getByTestId('rollback-user').locator('option', { hasText: 'Bob' }).waitFor({ state: 'attached' })
    await ann.page.getByTestId('rollback-user').selectOption({ label: 'Bob' })
    await ann.page.getByTestId('rollback-run').click()
    expect(await confirmViaUi(ann.page)).toEqual(['Removes 1 stroke (Bob 1).', 'Brings back 1 stroke (Ann 1) they erased.'])
    await expect.poll(() => ann.page.getByTestId('rollback-result').textContent(), { timeout: WAIT_MS }).toBe('Rolled back Bob: 1 item removed, 1 restored.')
    for (const user of [ann, bob]) await expectStrokeCount(user.page, 2)
    for (const user of [ann, bob]) expect((await liveColors(user, groupId)).sort()).toEqual([RED, BLUE].sort())
    // Bob is told who rolled back whose changes, and the rollback left a version to undo it.
    await expect.poll(() => bob.page.getByTestId('notice-text').last().textContent(), { timeout: WAIT_MS }).toMatch(/^Ann rolled back your changes since \d\d:\d\d( [AP]M)? on the canvas\.$/)
    await version(ann.page, 'Before a rollback').waitFor()
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })

  it("keeps the chat's versions too: preview its messages, restore them", async () => {
    await ann.page.getByTestId('history-toggle').click() // closes it
    await ann.page.getByTestId('history-panel').waitFor({ state: 'detached' })
    await postChat(ann.page, 'First thoughts')
    await expect.poll(() => chatTexts(bob.page), { timeout: WAIT_MS }).toEqual(['First thoughts'])
    await openHistory(ann.page)
    await ann.page.getByTestId('history-doc').selectOption('chat')
    await nameVersion(ann.page, 'One message')
    await postChat(bob.page, 'Second thoughts')
    await expect.poll(() => chatTexts(ann.page), { timeout: WAIT_MS }).toEqual(['First thoughts', 'Second thoughts'])

    await version(ann.page, 'One message').getByTestId('version-open').click()
    const preview = ann.page.getByTestId('version-preview')
    await expect.poll(() => preview.locator('.message-text').allTextContents(), { timeout: WAIT_MS }).toEqual(['First thoughts'])
    expect(await preview.locator('.message-author').allTextContents()).toEqual(['Ann'])
    await expect.poll(() => preview.getByTestId('version-diff').textContent(), { timeout: WAIT_MS }).toBe('Since then: 1 message posted, 0 removed.')
    expect(await chatTexts(ann.page)).toEqual(['First thoughts', 'Second thoughts'])

    await version(ann.page, 'One message').getByTestId('version-restore').click()
    expect(await confirmViaUi(ann.page)).toEqual(['Removes 1 message (Bob 1).', 'Brings back no messages.'])
    for (const user of [ann, bob]) await expect.poll(() => chatTexts(user.page), { timeout: WAIT_MS }).toEqual(['First thoughts'])
    await version(ann.page, 'Before restoring "One message"').waitFor()
    await ann.page.getByTestId('history-doc').selectOption('canvas')
    await version(ann.page, 'Before Bob').waitFor()
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })

  it('frees the pictures when the panel closes, and loads them again when it opens', async () => {
    const thumb = version(ann.page, 'Before Bob').getByTestId('version-thumb')
    await expectBlobPicture(thumb)
    const url = (await thumb.getAttribute('src')) ?? ''
    const readable = (): Promise<boolean> => ann.page.evaluate((src) => new Promise<boolean>((resolve) => {
      const image = new Image()
      image.onload = () => resolve(true)
      image.onerror = () => resolve(false)
      image.src = src
    }), url)
    expect(await readable()).toBe(true)
    await ann.page.getByTestId('history-toggle').click()
    await ann.page.getByTestId('history-panel').waitFor({ state: 'detached' })
    expect(await readable()).toBe(false)
    // That probe's own failed load is logged; it is the only console error it may add.
    const probeError = 'Failed to load resource: net::ERR_FILE_NOT_FOUND'
    await expect.poll(() => ann.errors.at(-1), { timeout: WAIT_MS }).toBe(probeError)
    ann.errors.splice(ann.errors.lastIndexOf(probeError), 1)
    await openHistory(ann.page)
    const again = version(ann.page, 'Before Bob').getByTestId('version-thumb')
    await expectBlobPicture(again)
    expect(await again.getAttribute('src')).not.toBe(url)
    expect(unexpectedErrors(ann)).toEqual([])
  })

  it('pages through the versions, newest first, with "Older versions"', async () => {
    const token = await pageToken(ann.page)
    for (let i = 1; i <= 20; i++) {
      const reply = await env.api('POST', `/groups/${groupId}/versions`, { token, body: { doc: 'canvas', name: `Page ${i}` } })
      expect(reply.status).toBe(201)
    }
    const all = await env.api<{ versions: Array<{ id: string }> }>('GET', `/groups/${groupId}/versions?doc=canvas&limit=100`, { token })
    expect(all.body.versions.length).toBeGreaterThan(20)
    await ann.page.getByTestId('history-refresh').click()
    const items = ann.page.getByTestId('version-item')
    await expect.poll(() => items.first().getAttribute('data-version-name'), { timeout: WAIT_MS }).toBe('Page 20')
    await expect.poll(() => items.count(), { timeout: WAIT_MS }).toBe(20)
    await ann.page.getByTestId('versions-older').click()
    await expect.poll(() => items.count(), { timeout: WAIT_MS }).toBe(all.body.versions.length)
    const shown = await items.evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.versionId))
    expect(shown).toEqual(all.body.versions.map((v) => v.id))
    expect(await ann.page.getByTestId('versions-older').isHidden()).toBe(true)
    expect(unexpectedErrors(ann)).toEqual([])
  })

  it("lets another member undo a restore from its notice, after showing what that changes", async () => {
    const strokes = Number(await ann.page.getByTestId('canvas').getAttribute('data-stroke-count'))
    await selectTool(ann.page, 'pen')
    await drawStroke(ann.page, [[40, 40], [90, 60], [140, 100]]) // the canvas is narrower beside the open panel
    await expectStrokeCount(bob.page, strokes + 1)
    await version(ann.page, 'Page 1').getByTestId('version-restore').click()
    expect(await confirmViaUi(ann.page)).toEqual(['Removes 1 stroke (Ann 1).', 'Brings back no strokes.'])
    await expectStrokeCount(bob.page, strokes)
    const notice = bob.page.getByTestId('notice').filter({ hasText: 'Ann restored "Page 1" on the canvas.' })
    await notice.getByTestId('notice-undo').click()
    expect(await confirmViaUi(bob.page)).toEqual(['Removes no strokes.', 'Brings back 1 stroke (Ann 1).'])
    await expect.poll(() => notice.getByTestId('notice-status').textContent(), { timeout: WAIT_MS }).toBe('Undone.')
    for (const user of [ann, bob]) await expectStrokeCount(user.page, strokes + 1)
    expect(unexpectedErrors(bob)).toEqual([])
  })

  it('turns a page read-only at once when its person is made a viewer, and says so', async () => {
    await openHistory(bob.page)
    const bobId = await bob.page.evaluate(() => (JSON.parse(localStorage.getItem('collab.session') ?? '{}') as { user: { id: string } }).user.id)
    const demoted = await fetch(`${env.server.url}/groups/${groupId}/members/${bobId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${await pageToken(ann.page)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    })
    expect(demoted.status).toBe(200)
    const problem = bob.page.getByTestId('access-problem')
    await expect.poll(() => problem.textContent(), { timeout: WAIT_MS }).toBe('You are a viewer in this group now: you can watch and read, not draw or post.')
    // The panel that offered restores is closed; the page has no drawing tools or composer.
    await bob.page.getByTestId('history-panel').waitFor({ state: 'detached' })
    expect(await bob.page.getByTestId('chat-input').count()).toBe(0)
    expect(await bob.page.getByTestId('tool-pen').count()).toBe(0)
    expect(await bob.page.getByTestId('group-role').textContent()).toBe('viewer')
    expect(unexpectedErrors(bob)).toEqual([])
    expect(unexpectedErrors(ann)).toEqual([])
  })
})
