/** Chat over REST: /groups/:id/messages (post, page, idempotent retries, permissions). */
import { describe, expect, it } from 'vitest'
import type { MessagePageResponse } from '../../shared/api.ts'
import type { ChatMessage } from '../../shared/chat.ts'
import { addMember, groupFixture, registerUser, type TestUser } from '../helpers/api.ts'
import { expectError, UNKNOWN_GROUP_ID, useServer } from './context.ts'

const ctx = useServer()

function post(as: TestUser, groupId: string, body: Record<string, unknown>) {
  return ctx.api<{ message: ChatMessage }>('POST', `/groups/${groupId}/messages`, { token: as.token, body })
}

function page(as: TestUser, groupId: string, query = '') {
  return ctx.api<MessagePageResponse>('GET', `/groups/${groupId}/messages${query}`, { token: as.token })
}

async function postAll(as: TestUser, groupId: string, texts: string[]): Promise<ChatMessage[]> {
  const posted: ChatMessage[] = []
  for (const text of texts) {
    const reply = await post(as, groupId, { text })
    expect(reply.status).toBe(201)
    posted.push(reply.body.message)
  }
  return posted
}

describe('POST /groups/:id/messages', () => {
  it('posts a message (201) with the author\'s id and display name and the text trimmed', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Poster')
    const before = Date.now()
    const reply = await post(owner, group.id, { text: '  hello there \n' })
    expect(reply.status).toBe(201)
    expect(reply.body.message).toEqual({ id: expect.any(String), author: owner.id, authorName: 'Poster', text: 'hello there', time: expect.any(Number) })
    expect(reply.body.message.time).toBeGreaterThanOrEqual(before)
    expect(reply.body.message.time).toBeLessThanOrEqual(Date.now())
  })

  it('answers a repeated client id with 200 and the original message, storing it once', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Retrier')
    const id = 'client-msg-0001'
    const first = await post(owner, group.id, { id, text: 'only once' })
    expect(first.status).toBe(201)
    expect(first.body.message).toMatchObject({ id, text: 'only once', author: owner.id })
    const second = await post(owner, group.id, { id, text: 'only once' })
    expect(second.status).toBe(200)
    expect(second.body.message).toEqual(first.body.message)
    const listed = await page(owner, group.id)
    expect(listed.body.messages.map((m) => m.id)).toEqual([id])
  })

  it('answers 403 to a viewer and stores nothing', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Owner')
    const viewer = await registerUser(ctx.api, 'Viewer')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    expectError(await post(viewer, group.id, { text: 'may I?' }), 403, 'forbidden')
    expect((await page(owner, group.id)).body.messages).toEqual([])
  })

  it('lets an editor post', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const reply = await post(editor, group.id, { text: 'from the editor' })
    expect(reply.status).toBe(201)
    expect(reply.body.message).toMatchObject({ author: editor.id, authorName: 'Editor' })
  })

  it('rejects empty text with 400', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    expectError(await post(owner, group.id, { text: '' }), 400, 'bad_request')
  })

  it('rejects whitespace-only text with 400', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    expectError(await post(owner, group.id, { text: ' \n\t ' }), 400, 'bad_request')
    expect((await page(owner, group.id)).body.messages).toEqual([])
  })

  it('answers 404 for an unknown group', async () => {
    const user = await registerUser(ctx.api, 'Lost')
    expectError(await post(user, UNKNOWN_GROUP_ID, { text: 'anyone?' }), 404, 'not_found')
  })
})

describe('GET /groups/:id/messages', () => {
  it('returns messages oldest first', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Talker')
    const posted = await postAll(owner, group.id, ['one', 'two', 'three'])
    const reply = await page(owner, group.id)
    expect(reply.status).toBe(200)
    expect(reply.body.messages).toEqual(posted)
    expect(reply.body.messages.map((m) => m.text)).toEqual(['one', 'two', 'three'])
    expect(reply.body.nextBefore).toBeNull()
  })

  it('pages backwards with limit and before', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Pager')
    const posted = await postAll(owner, group.id, ['m1', 'm2', 'm3', 'm4', 'm5'])

    const newest = await page(owner, group.id, '?limit=2')
    expect(newest.status).toBe(200)
    expect(newest.body.messages.map((m) => m.text)).toEqual(['m4', 'm5'])
    expect(newest.body.nextBefore).toBe(posted[3]?.id)

    const middle = await page(owner, group.id, `?limit=2&before=${newest.body.nextBefore}`)
    expect(middle.body.messages.map((m) => m.text)).toEqual(['m2', 'm3'])
    expect(middle.body.nextBefore).toBe(posted[1]?.id)

    const oldest = await page(owner, group.id, `?limit=2&before=${middle.body.nextBefore}`)
    expect(oldest.body.messages.map((m) => m.text)).toEqual(['m1'])
    expect(oldest.body.nextBefore).toBeNull()
  })

  it('lets a viewer read', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Owner')
    const viewer = await registerUser(ctx.api, 'Viewer')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    await postAll(owner, group.id, ['for everyone'])
    const reply = await page(viewer, group.id)
    expect(reply.status).toBe(200)
    expect(reply.body.messages.map((m) => ({ text: m.text, author: m.author }))).toEqual([{ text: 'for everyone', author: owner.id }])
  })

  it('answers 403 to a non-member', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Owner')
    await postAll(owner, group.id, ['private'])
    const outsider = await registerUser(ctx.api, 'Outsider')
    expectError(await page(outsider, group.id), 403, 'forbidden')
  })

  it('answers 404 for an unknown group', async () => {
    const user = await registerUser(ctx.api, 'Lost')
    expectError(await page(user, UNKNOWN_GROUP_ID), 404, 'not_found')
  })

  it('rejects limit=0 with 400', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    expectError(await page(owner, group.id, '?limit=0'), 400, 'bad_request')
  })

  it('rejects limit=201 with 400', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    expectError(await page(owner, group.id, '?limit=201'), 400, 'bad_request')
  })

  it('accepts limit=200', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    await postAll(owner, group.id, ['a', 'b'])
    const reply = await page(owner, group.id, '?limit=200')
    expect(reply.status).toBe(200)
    expect(reply.body.messages.map((m) => m.text)).toEqual(['a', 'b'])
  })

  it('requires a token', async () => {
    const { group } = await groupFixture(ctx.api)
    expectError(await ctx.api('GET', `/groups/${group.id}/messages`), 401, 'unauthorized')
  })
})
