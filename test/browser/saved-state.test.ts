/**
 * The per-document save state in the group header (`data-testid="save-status-canvas"` and
 * `…-chat`, `data-state` saved | saving | unsaved | declined), driven by the server's echoes and
 * sync messages (web/src/collab/save-tracker.ts), on a desktop viewport:
 * - drawing shows "saving…" and then "saved" once the server's echo is back;
 * - while the server's log does not take an edit (its append is held here, in the test process)
 *   the canvas says "saving…", then "not yet saved"; when the append fails the server keeps
 *   nothing and asks for a resync, and the page turns "saved" once the resent edit is echoed;
 * - offline, drawing and chatting show "not yet saved" until the page is back and acknowledged;
 * - another user's edits (drawing, erasing this user's stroke, chatting) never move this user's
 *   state off "saved".
 * Offline is produced as in offline.test.ts (context.setOffline; the page drops its sockets).
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { waitFor } from '../helpers/wait.ts'
import {
  chatTexts, drawStroke, expectStrokeCount, logInViaUi, openGroup, openUserPage, postChat, unexpectedErrors, useBrowserEnv,
  waitForStatus, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()
type Document = 'canvas' | 'chat'
type State = 'saved' | 'saving' | 'unsaved' | 'declined'

function indicator(page: Page, doc: Document) {
  return page.getByTestId(`save-status-${doc}`)
}

async function waitForSave(page: Page, doc: Document, state: State, timeout?: number): Promise<void> {
  await page.locator(`[data-testid="save-status-${doc}"][data-state="${state}"]`).waitFor({ timeout })
}

/** Starts recording every save state each indicator shows from now on (in the page). */
async function recordStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const record: Record<string, string[]> = { canvas: [], chat: [] }
    ;(window as unknown as { saveStates: typeof record }).saveStates = record
    for (const doc of ['canvas', 'chat']) {
      const element = document.querySelector(`[data-testid="save-status-${doc}"]`)!
      // Each record's new value is the next record's old value, the last one's is the current one.
      new MutationObserver((records) => {
        records.forEach((entry, i) => record[doc]!.push((i + 1 < records.length ? records[i + 1]!.oldValue : element.getAttribute('data-state')) ?? ''))
      }).observe(element, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true })
    }
  })
}

async function recordedStates(page: Page, doc: Document): Promise<string[]> {
  return page.evaluate((name) => (window as unknown as { saveStates: Record<string, string[]> }).saveStates[name] ?? [], doc)
}

describe('saved / not yet saved', () => {
  let ann: UserPage
  let bob: UserPage
  let strokes = 0

  beforeAll(async () => {
    // Accounts and membership over REST: not what this test is about.
    const owner = await registerUser(env.api, 'Ann')
    const member = await registerUser(env.api, 'Bob')
    const groupId = (await createGroup(env.api, owner, 'Saving')).id
    await addMember(env.api, owner, groupId, member)
    ;[ann, bob] = await Promise.all([openUserPage(env), openUserPage(env)])
    await Promise.all([logInViaUi(ann.page, owner.email), logInViaUi(bob.page, member.email)])
    await Promise.all([openGroup(ann.page, groupId), openGroup(bob.page, groupId)])
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
  })

  it('drawing shows saving… and then saved, once the server\'s echo is back', async () => {
    await waitForSave(ann.page, 'canvas', 'saved')
    await waitForSave(ann.page, 'chat', 'saved')
    await expect.poll(() => indicator(ann.page, 'canvas').textContent()).toBe('Canvas: saved')
    await recordStates(ann.page)
    await drawStroke(ann.page, [[60, 60], [160, 90], [220, 160]])
    strokes++
    await waitForSave(ann.page, 'canvas', 'saved')
    await expectStrokeCount(bob.page, strokes)
    const states = await recordedStates(ann.page, 'canvas')
    expect(states[0]).toBe('saving')
    expect(states.at(-1)).toBe('saved')
    expect(states.filter((state) => state !== 'saving' && state !== 'saved')).toEqual([])
    await postChat(ann.page, 'first message')
    await waitForSave(ann.page, 'chat', 'saved')
    expect(await recordedStates(ann.page, 'chat')).toEqual(['saving', 'saved'])
  })

  it('while the server\'s log does not take an edit: saving…, then not yet saved; the server asks again and it is saved', async () => {
    const log = env.server.app.updateLog
    const append = log.append.bind(log)
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let calls = 0
    log.append = async (room, updates, options) => {
      if (room.endsWith('/canvas')) {
        calls++
        await held
        throw new Error('log unavailable (test)')
      }
      return append(room, updates, options)
    }
    const canvasBox = () => ann.page.getByTestId('canvas').boundingBox()
    const saved = await canvasBox()
    try {
      await drawStroke(ann.page, [[300, 80], [380, 120]])
      strokes++
      await waitForSave(ann.page, 'canvas', 'saving')
      expect(await indicator(ann.page, 'canvas').textContent()).toBe('Canvas: saving…')
      expect(await canvasBox()).toEqual(saved) // the header keeps its layout: the canvas never moves under the pointer
      await waitFor(() => calls > 0, 5_000, 'the stroke on its way to the log')
      await waitForSave(ann.page, 'canvas', 'unsaved', 10_000) // no acknowledgement for 4 s
      expect(await indicator(ann.page, 'canvas').textContent()).toBe('Canvas: not yet saved')
      expect(await canvasBox()).toEqual(saved)
      await waitForStatus(ann.page, 'connected') // the socket stayed open all along
      await expectStrokeCount(ann.page, strokes)
      expect(await strokeCountOf(bob.page)).toBe(strokes - 1) // nothing unlogged is relayed
    } finally {
      log.append = append
      release() // the held append fails: the server keeps nothing of it and asks for a resync
    }
    await waitForSave(ann.page, 'canvas', 'saved')
    await expectStrokeCount(bob.page, strokes)
  })

  it('offline, drawing and chatting are not yet saved; back online they are saved', async () => {
    await ann.context.setOffline(true)
    await waitForStatus(ann.page, 'offline')
    await drawStroke(ann.page, [[100, 300], [200, 340]])
    strokes++
    await postChat(ann.page, 'written offline')
    await waitForSave(ann.page, 'canvas', 'unsaved')
    await waitForSave(ann.page, 'chat', 'unsaved')
    expect(await indicator(ann.page, 'canvas').textContent()).toBe('Canvas: not yet saved')
    expect(await indicator(ann.page, 'chat').textContent()).toBe('Chat: not yet saved')

    await ann.context.setOffline(false)
    await waitForStatus(ann.page, 'connected')
    await waitForSave(ann.page, 'canvas', 'saved')
    await waitForSave(ann.page, 'chat', 'saved')
    await expectStrokeCount(bob.page, strokes)
    await expect.poll(() => chatTexts(bob.page)).toEqual(['first message', 'written offline'])
  })

  it('another user\'s edits never make this user\'s state not yet saved', async () => {
    await recordStates(ann.page)
    await drawStroke(bob.page, [[500, 200], [560, 260], [600, 240]])
    await drawStroke(bob.page, [[520, 400], [640, 420]])
    strokes += 2
    // Bob erases one of Ann's strokes (the first one, under this point).
    await bob.page.getByTestId('tool-eraser').click()
    await drawStroke(bob.page, [[160, 90], [161, 91]])
    strokes--
    await postChat(bob.page, 'from Bob')
    await expectStrokeCount(ann.page, strokes)
    await expect.poll(() => chatTexts(ann.page)).toContain('from Bob')
    expect(await recordedStates(ann.page, 'canvas')).toEqual([])
    expect(await recordedStates(ann.page, 'chat')).toEqual([])
    expect(await indicator(ann.page, 'canvas').getAttribute('data-state')).toBe('saved')
    expect(await indicator(ann.page, 'chat').getAttribute('data-state')).toBe('saved')
    await waitForSave(bob.page, 'canvas', 'saved')
    await waitForSave(bob.page, 'chat', 'saved')
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })
})

async function strokeCountOf(page: Page): Promise<number> {
  return Number(await page.getByTestId('canvas').getAttribute('data-stroke-count'))
}
