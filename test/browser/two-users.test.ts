/**
 * Two people, two browsers, one group, everything through the UI: sign up, create a group,
 * invite, join; then one draws and the other sees the stroke live (count, and its colour in the
 * group's SVG picture), they see each other's cursor, and chat both ways. Undo and the eraser
 * are checked on the same pair.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postMessage } from '../../shared/chat.ts'
import { connectSynced } from '../helpers/clients.ts'
import {
  canvasSvg, chatTexts, chooseColor, drawStroke, expectStrokeCount, pageToken, postChat,
  svgStrokeColors, twoMembersViaUi, unexpectedErrors, useBrowserEnv, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()
const ANN_COLOR = '#d81b60'
const BOB_COLOR = '#00897b'

describe('two users in one group', () => {
  let ann: UserPage
  let bob: UserPage
  let groupId = ''

  beforeAll(async () => {
    ;({ ann, bob, groupId } = await twoMembersViaUi(env, 'Sketch club'))
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
  })

  it('shows a stroke drawn by one to the other, live, in its colour', async () => {
    await chooseColor(ann.page, ANN_COLOR)
    await drawStroke(ann.page, [[60, 60], [120, 90], [180, 140], [240, 150]])
    await expectStrokeCount(ann.page, 1)
    await expectStrokeCount(bob.page, 1)
    expect(svgStrokeColors(await canvasSvg(env, groupId, bob.page))).toEqual([ANN_COLOR])
  })

  it("shows each other's cursor with the name", async () => {
    const box = await ann.page.getByTestId('canvas').boundingBox()
    await ann.page.mouse.move((box?.x ?? 0) + 300, (box?.y ?? 0) + 200)
    await expect.poll(() => bob.page.locator('[data-testid="remote-cursor"]').getAttribute('data-name'), { timeout: 10_000 }).toBe('Ann')
    await expect.poll(() => bob.page.getByTestId('peer').allTextContents(), { timeout: 10_000 }).toContain('Ann')
  })

  it('delivers chat messages both ways', async () => {
    await postChat(ann.page, 'Hi Bob, nice stroke?')
    await expect.poll(() => chatTexts(bob.page), { timeout: 10_000 }).toEqual(['Hi Bob, nice stroke?'])
    await postChat(bob.page, 'Very nice, Ann')
    await expect.poll(() => chatTexts(ann.page), { timeout: 10_000 }).toEqual(['Hi Bob, nice stroke?', 'Very nice, Ann'])
  })

  it("names the authors of messages and strokes by the server's record, not by what a document says", async () => {
    // Ann, from another client of hers, writes a message that calls her "Mallory".
    const annId = await ann.page.evaluate(() => (JSON.parse(localStorage.getItem('collab.session') ?? '{}') as { user: { id: string } }).user.id)
    const other = await connectSynced(env.server.collabUrl, `${groupId}/chat`, { token: await pageToken(ann.page) })
    try {
      postMessage(other.doc, { author: annId, authorName: 'Mallory', text: 'who am I?' })
      const message = bob.page.locator('[data-testid="chat-message"]', { hasText: 'who am I?' })
      await expect.poll(() => message.locator('.message-author').textContent(), { timeout: 10_000 }).toBe('Ann')
    } finally {
      other.destroy()
    }
    const box = await bob.page.getByTestId('canvas').boundingBox()
    await bob.page.mouse.move((box?.x ?? 0) + 120, (box?.y ?? 0) + 90) // on Ann's stroke
    await expect.poll(() => bob.page.getByTestId('canvas').getAttribute('title'), { timeout: 10_000 }).toBe('Drawn by Ann')
    expect(await bob.page.getByTestId('canvas').getAttribute('data-hover-author')).toBe(annId)
  })

  it("undoes only one's own strokes, redoes them, and erases a stroke under the pointer", async () => {
    await chooseColor(bob.page, BOB_COLOR)
    await drawStroke(bob.page, [[400, 300], [450, 320], [500, 360]])
    await expectStrokeCount(ann.page, 2)
    await ann.page.getByTestId('undo').click() // Ann's only stroke; Bob's stays
    await expectStrokeCount(ann.page, 1)
    await expectStrokeCount(bob.page, 1)
    expect(svgStrokeColors(await canvasSvg(env, groupId, ann.page))).toEqual([BOB_COLOR])
    await expect.poll(() => ann.page.getByTestId('undo').isDisabled()).toBe(true)
    await ann.page.getByTestId('redo').click()
    await expectStrokeCount(bob.page, 2)
    expect(svgStrokeColors(await canvasSvg(env, groupId, ann.page)).sort()).toEqual([ANN_COLOR, BOB_COLOR].sort())

    await bob.page.getByTestId('tool-eraser').click()
    await drawStroke(bob.page, [[120, 88], [122, 90]]) // on Ann's stroke
    await expectStrokeCount(ann.page, 1)
    await expectStrokeCount(bob.page, 1)
    expect(svgStrokeColors(await canvasSvg(env, groupId, bob.page))).toEqual([BOB_COLOR])
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })
})
