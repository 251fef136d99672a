/**
 * The chat (issue 23, item 7): messages in the order they were written (time, then id), not the
 * order they arrived: Bob's message written offline shows before Ann's written after it, though
 * it reached the server later. Days are separated ("Yesterday", "Today"). On a phone the chat is
 * a drawer, and while it is closed the Chat button counts messages from others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postMessage } from '../../shared/chat.ts'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { chatTexts, logInViaUi, openGroup, openUserPage, postChat, unexpectedErrors, useBrowserEnv, waitForStatus, type UserPage } from './harness.ts'

const env = useBrowserEnv()
const WAIT_MS = 15_000

describe('the chat on a desktop and a phone', () => {
  let ann: UserPage
  let bob: UserPage
  let groupId = ''
  let bobAccount: Awaited<ReturnType<typeof registerUser>>

  beforeAll(async () => {
    const owner = await registerUser(env.api, 'Ann')
    bobAccount = await registerUser(env.api, 'Bob')
    groupId = (await createGroup(env.api, owner, 'Night owls')).id
    await addMember(env.api, owner, groupId, bobAccount)
    ;[ann, bob] = await Promise.all([openUserPage(env, 'desktop'), openUserPage(env, 'phone')])
    await Promise.all([logInViaUi(ann.page, owner.email), logInViaUi(bob.page, bobAccount.email)])
    await Promise.all([openGroup(ann.page, groupId), openGroup(bob.page, groupId)])
  })

  afterAll(async () => {
    await Promise.all([ann?.context.close(), bob?.context.close()])
  })

  it('orders messages by when they were written, not by when they arrived', async () => {
    await bob.context.setOffline(true)
    await waitForStatus(bob.page, 'offline')
    await postChat(bob.page, 'written offline first')
    await postChat(ann.page, 'written online second')
    await expect.poll(() => chatTexts(ann.page), { timeout: WAIT_MS }).toEqual(['written online second'])
    await bob.context.setOffline(false)
    await waitForStatus(bob.page, 'connected')
    for (const user of [ann, bob]) await expect.poll(() => chatTexts(user.page), { timeout: WAIT_MS }).toEqual(['written offline first', 'written online second'])
  })

  it('separates days', async () => {
    const other = await connectSynced(env.server.collabUrl, `${groupId}/chat`, { token: bobAccount.token })
    try {
      postMessage(other.doc, { author: bobAccount.id, authorName: 'Bob', text: 'from yesterday', time: Date.now() - 86_400_000 })
      await expect.poll(() => chatTexts(ann.page), { timeout: WAIT_MS }).toEqual(['from yesterday', 'written offline first', 'written online second'])
    } finally {
      other.destroy()
    }
    const days = ann.page.getByTestId('chat-day')
    expect(await days.allTextContents()).toEqual(['Yesterday', 'Today'])
    const order = await ann.page.locator('[data-testid="chat-messages"] > li').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.testid))
    expect(order).toEqual(['chat-day', 'chat-message', 'chat-day', 'chat-message', 'chat-message'])
  })

  it('counts unread messages on a phone while the chat drawer is closed', async () => {
    const toggle = bob.page.getByTestId('chat-toggle')
    expect(await toggle.isVisible()).toBe(true)
    expect(await bob.page.getByTestId('chat-input').isVisible()).toBe(false) // a closed drawer
    // Ann's earlier message arrived while it was closed: counted until Bob opens the chat.
    expect(await bob.page.getByTestId('chat-unread').textContent()).toBe('1')
    await toggle.click()
    await toggle.click()
    expect(await bob.page.getByTestId('chat-unread').isHidden()).toBe(true)
    await postChat(ann.page, 'are you there?')
    await postChat(ann.page, 'hello?')
    await expect.poll(() => bob.page.getByTestId('chat-unread').textContent(), { timeout: WAIT_MS }).toBe('2')
    await toggle.click()
    await bob.page.getByTestId('chat-input').waitFor()
    expect(await bob.page.getByTestId('chat-unread').isHidden()).toBe(true)
    // The desktop shows the chat beside the canvas: no drawer, no count.
    expect(await ann.page.getByTestId('chat-toggle').isVisible()).toBe(false)
    expect(await ann.page.getByTestId('chat-input').isVisible()).toBe(true)
    expect(unexpectedErrors(ann)).toEqual([])
  })
})
