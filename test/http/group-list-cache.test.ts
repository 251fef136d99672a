/** GET /groups is cached per user, and every change that affects a list shows at once. */
import { expect, it } from 'vitest'
import type { GroupResponse } from '../../shared/api.ts'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { useServer } from './context.ts'

const ctx = useServer()

async function listOf(token: string): Promise<GroupResponse[]> {
  return (await ctx.api<{ groups: GroupResponse[] }>('GET', '/groups', { token })).body.groups
}

it('stays exact through create, join, rename, member count changes and leave', async () => {
  const owner = await registerUser(ctx.api, 'ListOwner')
  const member = await registerUser(ctx.api, 'ListMember')
  expect(await listOf(owner.token)).toEqual([])
  const group = await createGroup(ctx.api, owner, 'First')
  expect((await listOf(owner.token)).map((g) => g.name)).toEqual(['First'])
  const hits = ctx.server.app.services.lists.hits
  expect(await listOf(owner.token)).toHaveLength(1)
  expect(ctx.server.app.services.lists.hits).toBe(hits + 1) // served from the cache

  await addMember(ctx.api, owner, group.id, member, 'viewer')
  expect((await listOf(member.token)).map((g) => [g.name, g.role])).toEqual([['First', 'viewer']])
  expect((await listOf(owner.token))[0]?.memberCount).toBe(2)

  await ctx.api('PATCH', `/groups/${group.id}`, { token: owner.token, body: { name: 'Renamed' } })
  expect((await listOf(member.token))[0]?.name).toBe('Renamed')
  await ctx.api('PATCH', `/groups/${group.id}/members/${member.id}`, { token: owner.token, body: { role: 'editor' } })
  expect((await listOf(member.token))[0]?.role).toBe('editor')

  await ctx.api('POST', `/groups/${group.id}/leave`, { token: member.token })
  expect(await listOf(member.token)).toEqual([])
  expect((await listOf(owner.token))[0]?.memberCount).toBe(1)
})
