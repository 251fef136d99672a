/** Request bodies and queries are validated strictly: unknown fields and non-JSON bodies are errors. */
import { describe, expect, it } from 'vitest'
import { createGroup, registerUser } from '../helpers/api.ts'
import { expectError, uniqueEmail, useServer } from './context.ts'

const ctx = useServer()

describe('unknown properties are rejected, not dropped', () => {
  it('on register', async () => {
    const reply = await ctx.api('POST', '/auth/register', { body: { email: uniqueEmail(), password: '12345678', name: 'A', admin: true } })
    expectError(reply, 400, 'bad_request')
  })

  it('on group create, update and messages', async () => {
    const owner = await registerUser(ctx.api, 'Strict')
    expectError(await ctx.api('POST', '/groups', { token: owner.token, body: { name: 'g', foo: 1 } }), 400, 'bad_request')
    const group = await createGroup(ctx.api, owner)
    expectError(await ctx.api('PATCH', `/groups/${group.id}`, { token: owner.token, body: { foo: 1 } }), 400, 'bad_request')
    expect((await ctx.api<{ name: string }>('GET', `/groups/${group.id}`, { token: owner.token })).body.name).toBe(group.name)
    expectError(await ctx.api('POST', `/groups/${group.id}/messages`, { token: owner.token, body: { text: 'hi', author: 'someone-else' } }), 400, 'bad_request')
    expectError(await ctx.api('GET', `/groups/${group.id}/messages?foo=1`, { token: owner.token }), 400, 'bad_request')
  })
})

it('an email with surrounding spaces and other case is the same account', async () => {
  const email = uniqueEmail('spaces')
  expect((await ctx.api('POST', '/auth/register', { body: { email, password: '12345678', name: 'S' } })).status).toBe(201)
  const again = await ctx.api('POST', '/auth/register', { body: { email: `  ${email.toUpperCase()} `, password: '12345678', name: 'S' } })
  expectError(again, 409, 'conflict')
  expect((await ctx.api('POST', '/auth/login', { body: { email: ` ${email} `, password: '12345678' } })).status).toBe(200)
})

it('text/plain bodies get 415', async () => {
  const response = await ctx.server.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  expect(response.statusCode).toBe(415)
  expect(response.json()).toMatchObject({ error: 'unsupported_media_type' })
})
