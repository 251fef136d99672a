/**
 * Lengths and times a client sends are judged where the schema judges them: a chat text or name
 * within the limit in characters (code points, as JSON Schema counts them) is stored even when it
 * takes more UTF-16 units; one past it, and a time no Date can hold, is a 400, never a 500.
 */
import { describe, expect, it } from 'vitest'
import type { MessagePageResponse } from '../../shared/api.ts'
import { CHAT_LIMITS, type ChatMessage } from '../../shared/chat.ts'
import { groupFixture, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { expectError, useServer } from './context.ts'

const ctx = useServer()
const EMOJI = '😀' // one character, two UTF-16 units

function post(as: TestUser, groupId: string, text: string) {
  return ctx.api<{ message: ChatMessage }>('POST', `/groups/${groupId}/messages`, { token: as.token, body: { text } })
}

describe('chat text and names, in characters', () => {
  it('stores texts of up to 4,000 characters that take more than 4,000 UTF-16 units', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Texter')
    const texts = ['a'.repeat(CHAT_LIMITS.maxTextLength - 1) + EMOJI, EMOJI.repeat(2001), EMOJI.repeat(CHAT_LIMITS.maxTextLength)]
    for (const text of texts) {
      expect(text.length).toBeGreaterThan(CHAT_LIMITS.maxTextLength)
      const reply = await post(owner, group.id, text)
      expect(reply.status).toBe(201)
      expect(reply.body.message.text).toBe(text)
    }
    const page = await ctx.api<MessagePageResponse>('GET', `/groups/${group.id}/messages`, { token: owner.token })
    expect(page.body.messages.map((m) => m.text)).toEqual(texts)
  })

  it('answers 400 to a text one character too long, however it is written', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Longwinded')
    for (const text of ['a'.repeat(CHAT_LIMITS.maxTextLength + 1), EMOJI.repeat(CHAT_LIMITS.maxTextLength + 1), 'a'.repeat(CHAT_LIMITS.maxTextLength) + EMOJI]) {
      expectError(await post(owner, group.id, text), 400, 'bad_request')
    }
  })

  it('lets a user whose name is 80 characters but more UTF-16 units post', async () => {
    const owner = await registerUser(ctx.api, EMOJI.repeat(CHAT_LIMITS.maxNameLength))
    const group = await createGroup(ctx.api, owner)
    const reply = await post(owner, group.id, 'hello')
    expect(reply.status).toBe(201)
    expect(reply.body.message.authorName).toBe(owner.name)
    expectError(await ctx.api('POST', '/auth/register', { body: { email: `long-${Date.now()}@example.test`, password: 'correct horse battery', name: EMOJI.repeat(CHAT_LIMITS.maxNameLength + 1) } }), 400, 'bad_request')
  })
})

describe('times past any Date', () => {
  const huge = [1e300, 9007199254740993, 8.64e15 + 1]

  it('answer 400 on rollback and its preview', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Roller')
    for (const path of ['rollback', 'rollback/preview']) {
      for (const since of huge) {
        expectError(await ctx.api('POST', `/groups/${group.id}/${path}`, { token: owner.token, body: { doc: 'canvas', userId: owner.id, since } }), 400, 'bad_request')
      }
    }
    const preview = await ctx.api('POST', `/groups/${group.id}/rollback/preview`, { token: owner.token, body: { doc: 'canvas', userId: owner.id, since: 8.64e15 } })
    expect(preview.status).toBe(200)
  })

  it('answer 400 as the versions page and activity cursors', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Pager')
    for (const time of ['1e300', '9007199254740993', '8640000000000001']) {
      expectError(await ctx.api('GET', `/groups/${group.id}/versions?doc=chat&before=${time}`, { token: owner.token }), 400, 'bad_request')
      expectError(await ctx.api('GET', `/groups/${group.id}/activity?after=${time}`, { token: owner.token }), 400, 'bad_request')
    }
    expect((await ctx.api('GET', `/groups/${group.id}/versions?doc=chat&before=8640000000000000`, { token: owner.token })).status).toBe(200)
    expect((await ctx.api('GET', `/groups/${group.id}/activity?after=8640000000000000`, { token: owner.token })).status).toBe(200)
  })
})

// Found from outside: names of NUL, of zero-width characters only, or reversed by U+202E were
// accepted, which makes one member pass for another.
describe('names people read', () => {
  const deceptive = ['\u0000Ann', '\u200b\u200b', 'Ann\u202Enimda', 'Bob\u2066x\u2069', '\ud800Ann', ' \t ']

  it('refuses a user, group or version name that shows nothing or reorders what follows, and takes any script and emoji', async () => {
    const { owner, group } = await groupFixture(ctx.api, 'Namer')
    for (const name of deceptive) {
      expectError(await ctx.api('POST', '/auth/register', { body: { email: `n${Math.random().toString(36).slice(2)}@example.com`, password: 'correct horse battery', name } }), 400, 'bad_request')
      expectError(await ctx.api('POST', '/groups', { token: owner.token, body: { name } }), 400, 'bad_request')
      expectError(await ctx.api('PATCH', `/groups/${group.id}`, { token: owner.token, body: { name } }), 400, 'bad_request')
      expectError(await ctx.api('POST', `/groups/${group.id}/versions`, { token: owner.token, body: { doc: 'canvas', name } }), 400, 'bad_request')
    }
    for (const name of ['Zoë 😀', '李雷', 'Ann-Marie O\'Neil', 'مريم']) {
      expect((await ctx.api('POST', '/groups', { token: owner.token, body: { name } })).status).toBe(201)
      expect((await ctx.api('POST', '/auth/register', { body: { email: `n${Math.random().toString(36).slice(2)}@example.com`, password: 'correct horse battery', name } })).status).toBe(201)
    }
  })
})
