/**
 * MAX_DOC_BYTES holds for REST chat posts as for socket writes: a post that would pass it is
 * answered 413 payload_too_large, nothing of it is stored, and the chat keeps serving what it has.
 */
import { expect, it } from 'vitest'
import { createGroup, registerUser } from '../helpers/api.ts'
import { expectError, useServer } from './context.ts'

const MAX_DOC = 64 * 1024
const ctx = useServer({ maxDocBytes: MAX_DOC, messageRateLimitPerMinute: 1_000 })

it('answers 413 once the chat is full; what was posted stays, the refused post is not stored', async () => {
  const owner = await registerUser(ctx.api, 'Talker')
  const group = await createGroup(ctx.api, owner, 'full chat')
  const post = (text: string) => ctx.server.app.inject({ method: 'POST', url: `/groups/${group.id}/messages`, headers: { authorization: `Bearer ${owner.token}` }, payload: { text } })
  const text = 'x'.repeat(4_000) // the longest post (REST limit)
  const statuses: number[] = []
  for (let i = 0; i < 40 && !statuses.includes(413); i++) statuses.push((await post(`${i} ${text}`.slice(0, 4_000))).statusCode)
  const accepted = statuses.filter((s) => s === 201).length
  expect(accepted, 'posts until the chat is full').toBeGreaterThan(10)
  expect(statuses.at(-1)).toBe(413)
  const refused = await post(`again ${text}`.slice(0, 4_000))
  expectError({ status: refused.statusCode, body: refused.json() }, 413, 'payload_too_large')

  const page = await ctx.api<{ messages: Array<{ text: string }> }>('GET', `/groups/${group.id}/messages?limit=100`, { token: owner.token })
  expect(page.status).toBe(200)
  expect(page.body.messages).toHaveLength(accepted)
  expect(page.body.messages.some((m) => m.text.startsWith('again'))).toBe(false)
})
