/**
 * Where things are (issue 23, items 4, 10 and 11): on a 1280x800 desktop the History and Members
 * panels sit beside the canvas, never over its zoom controls, and the chat stays in view; on a
 * 390x844 phone the header is one row and panels are drawers over the canvas. And Undo turns
 * disabled once someone else erased the only stroke it could undo (it would do nothing).
 */
import type { Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { drawStroke, expectStrokeCount, logInViaUi, openGroup, openUserPage, unexpectedErrors, useBrowserEnv, type UserPage } from './harness.ts'

const env = useBrowserEnv()

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox()
  if (!found) throw new Error('not visible')
  return found
}

function overlap(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

describe('layout and undo', () => {
  let ann: UserPage
  let bob: UserPage

  beforeAll(async () => {
    const owner = await registerUser(env.api, 'Ann')
    const member = await registerUser(env.api, 'Bob')
    const groupId = (await createGroup(env.api, owner, 'Layout')).id
    await addMember(env.api, owner, groupId, member)
    ;[ann, bob] = await Promise.all([openUserPage(env, 'desktop'), openUserPage(env, 'phone')])
    await Promise.all([logInViaUi(ann.page, owner.email), logInViaUi(bob.page, member.email)])
    await Promise.all([openGroup(ann.page, groupId), openGroup(bob.page, groupId)])
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
  })

  it('puts History and Members beside the canvas on a desktop, clear of its controls and of the chat', async () => {
    for (const [toggle, panel] of [['history-toggle', 'history-panel'], ['members-toggle', 'members-panel']] as const) {
      await ann.page.getByTestId(toggle).click()
      const side = await box(ann.page.getByTestId(panel))
      const controls = await box(ann.page.locator('.view-controls'))
      const canvas = await box(ann.page.getByTestId('canvas'))
      const chat = await box(ann.page.getByTestId('chat-input'))
      expect(overlap(side, controls)).toBe(false)
      expect(overlap(side, canvas)).toBe(false)
      expect(overlap(side, chat)).toBe(false)
      expect(side.x + side.width).toBeLessThanOrEqual(1280)
      expect(canvas.width).toBeGreaterThan(400)
    }
    await ann.page.getByTestId('members-toggle').click()
    await ann.page.getByTestId('members-panel').waitFor({ state: 'detached' })
  })

  it('keeps a phone\'s header to one row and opens panels as drawers', async () => {
    const header = await box(bob.page.locator('.group-header'))
    expect(header.height).toBeLessThan(50)
    const toolbar = await box(bob.page.getByRole('toolbar'))
    expect(toolbar.height).toBeLessThan(56)
    await bob.page.getByTestId('history-toggle').click()
    const drawer = await box(bob.page.getByTestId('history-panel'))
    expect(drawer.width).toBeLessThanOrEqual(390)
    expect(drawer.y + drawer.height).toBeLessThanOrEqual(844)
    await bob.page.getByTestId('history-toggle').click()
    await bob.page.getByTestId('history-panel').waitFor({ state: 'detached' })
  })

  it('disables Undo once someone else erased what it would undo', async () => {
    await drawStroke(ann.page, [[80, 80], [200, 120], [260, 200]])
    await expectStrokeCount(bob.page, 1)
    expect(await ann.page.getByTestId('undo').isDisabled()).toBe(false)
    // Bob erases it on his phone (the eraser is in the tools menu there).
    await bob.page.getByTestId('tool-menu').tap()
    await bob.page.getByTestId('tool-eraser').tap()
    const canvas = await box(bob.page.getByTestId('canvas'))
    const view = await bob.page.getByTestId('canvas').evaluate((element) => ({ scale: Number(element.dataset.viewScale), x: Number(element.dataset.viewX), y: Number(element.dataset.viewY) }))
    await bob.page.touchscreen.tap(canvas.x + 200 * view.scale + view.x, canvas.y + 120 * view.scale + view.y)
    await expectStrokeCount(ann.page, 0)
    await ann.page.locator('[data-testid="undo"][disabled]').waitFor({ state: 'attached' })
    expect(unexpectedErrors(ann)).toEqual([])
    expect(unexpectedErrors(bob)).toEqual([])
  })
})
