/** /groups/:id/members and /groups/:id/leave: list, change roles, remove, leave. */
import { describe, expect, it } from 'vitest'
import type { GroupResponse, MemberResponse } from '../../shared/api.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { expectError, useServer } from './context.ts'

type MemberList = { members: MemberResponse[] }

const ctx = useServer()

/** An owner with an editor and a viewer in one group. */
async function team(): Promise<{ owner: TestUser; editor: TestUser; viewer: TestUser; group: GroupResponse }> {
  const owner = await registerUser(ctx.api, 'Olivia Owner')
  const editor = await registerUser(ctx.api, 'Eddie Editor')
  const viewer = await registerUser(ctx.api, 'Vera Viewer')
  const group = await createGroup(ctx.api, owner, 'Team')
  await addMember(ctx.api, owner, group.id, editor, 'editor')
  await addMember(ctx.api, owner, group.id, viewer, 'viewer')
  return { owner, editor, viewer, group }
}

async function roles(groupId: string, as: TestUser): Promise<Record<string, string>> {
  const reply = await ctx.api<MemberList>('GET', `/groups/${groupId}/members`, { token: as.token })
  expect(reply.status).toBe(200)
  return Object.fromEntries(reply.body.members.map((m) => [m.userId, m.role]))
}

describe('GET /groups/:id/members', () => {
  it('lists every member with name and role, the owner as owner, in joining order', async () => {
    const { owner, editor, viewer, group } = await team()
    const reply = await ctx.api<MemberList>('GET', `/groups/${group.id}/members`, { token: viewer.token })
    expect(reply.status).toBe(200)
    expect(reply.body.members.map(({ userId, name, role }) => ({ userId, name, role }))).toEqual([
      { userId: owner.id, name: 'Olivia Owner', role: 'owner' },
      { userId: editor.id, name: 'Eddie Editor', role: 'editor' },
      { userId: viewer.id, name: 'Vera Viewer', role: 'viewer' },
    ])
    for (const member of reply.body.members) expect(member.joinedAt).toEqual(expect.any(Number))
  })

  it('answers 403 to a non-member', async () => {
    const { group } = await team()
    const outsider = await registerUser(ctx.api, 'Outsider')
    expectError(await ctx.api('GET', `/groups/${group.id}/members`, { token: outsider.token }), 403, 'forbidden')
  })
})

describe('PATCH /groups/:id/members/:userId', () => {
  it('lets the owner turn an editor into a viewer', async () => {
    const { owner, editor, group } = await team()
    expect((await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })).body.role).toBe('editor')
    const reply = await ctx.api<MemberResponse>('PATCH', `/groups/${group.id}/members/${editor.id}`, { token: owner.token, body: { role: 'viewer' } })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ userId: editor.id, name: 'Eddie Editor', role: 'viewer' })
    expect((await roles(group.id, owner))[editor.id]).toBe('viewer')
    const asEditor = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })
    expect(asEditor.body.role).toBe('viewer')
  })

  it('takes effect on permissions at once: the demoted editor can no longer post', async () => {
    const { owner, editor, group } = await team()
    expect((await ctx.api('POST', `/groups/${group.id}/messages`, { token: editor.token, body: { text: 'before' } })).status).toBe(201)
    expect((await ctx.api('PATCH', `/groups/${group.id}/members/${editor.id}`, { token: owner.token, body: { role: 'viewer' } })).status).toBe(200)
    expectError(await ctx.api('POST', `/groups/${group.id}/messages`, { token: editor.token, body: { text: 'after' } }), 403, 'forbidden')
  })

  it('answers 403 to an editor and changes nothing', async () => {
    const { owner, editor, viewer, group } = await team()
    expectError(await ctx.api('PATCH', `/groups/${group.id}/members/${viewer.id}`, { token: editor.token, body: { role: 'editor' } }), 403, 'forbidden')
    expect((await roles(group.id, owner))[viewer.id]).toBe('viewer')
  })

  it('answers 409 for a change of the owner\'s role', async () => {
    const { owner, group } = await team()
    expectError(await ctx.api('PATCH', `/groups/${group.id}/members/${owner.id}`, { token: owner.token, body: { role: 'viewer' } }), 409, 'conflict')
    expect((await roles(group.id, owner))[owner.id]).toBe('owner')
  })

  it('answers 404 for a user who is not a member', async () => {
    const { owner, group } = await team()
    const stranger = await registerUser(ctx.api, 'Stranger')
    expectError(await ctx.api('PATCH', `/groups/${group.id}/members/${stranger.id}`, { token: owner.token, body: { role: 'viewer' } }), 404, 'not_found')
    expect(Object.keys(await roles(group.id, owner))).not.toContain(stranger.id)
  })

  it('rejects the role owner with 400', async () => {
    const { owner, editor, group } = await team()
    expectError(await ctx.api('PATCH', `/groups/${group.id}/members/${editor.id}`, { token: owner.token, body: { role: 'owner' } }), 400, 'bad_request')
    expect((await roles(group.id, owner))[editor.id]).toBe('editor')
  })
})

describe('DELETE /groups/:id/members/:userId', () => {
  it('lets the owner remove a member, who then gets 403 on the group', async () => {
    const { owner, editor, group } = await team()
    expect((await ctx.api('GET', `/groups/${group.id}`, { token: editor.token })).status).toBe(200)
    const reply = await ctx.api('DELETE', `/groups/${group.id}/members/${editor.id}`, { token: owner.token })
    expect(reply.status).toBe(204)
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: editor.token }), 403, 'forbidden')
    expect(Object.keys(await roles(group.id, owner))).not.toContain(editor.id)
    const after = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(after.body.memberCount).toBe(2)
  })

  it('answers 409 when the owner removes themselves', async () => {
    const { owner, group } = await team()
    expectError(await ctx.api('DELETE', `/groups/${group.id}/members/${owner.id}`, { token: owner.token }), 409, 'conflict')
    expect((await roles(group.id, owner))[owner.id]).toBe('owner')
  })

  it('answers 403 to an editor removing the owner', async () => {
    const { owner, editor, group } = await team()
    expectError(await ctx.api('DELETE', `/groups/${group.id}/members/${owner.id}`, { token: editor.token }), 403, 'forbidden')
    expect((await roles(group.id, owner))[owner.id]).toBe('owner')
  })

  it('answers 403 to an editor removing someone else', async () => {
    const { owner, editor, viewer, group } = await team()
    expectError(await ctx.api('DELETE', `/groups/${group.id}/members/${viewer.id}`, { token: editor.token }), 403, 'forbidden')
    expect((await roles(group.id, owner))[viewer.id]).toBe('viewer')
  })

  it('answers 404 for a user who is not a member', async () => {
    const { owner, group } = await team()
    const stranger = await registerUser(ctx.api, 'Stranger')
    expectError(await ctx.api('DELETE', `/groups/${group.id}/members/${stranger.id}`, { token: owner.token }), 404, 'not_found')
  })

  it('treats removing oneself as a non-owner as leaving (204)', async () => {
    const { owner, viewer, group } = await team()
    expect((await ctx.api('DELETE', `/groups/${group.id}/members/${viewer.id}`, { token: viewer.token })).status).toBe(204)
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: viewer.token }), 403, 'forbidden')
    expect(Object.keys(await roles(group.id, owner))).not.toContain(viewer.id)
  })
})

describe('POST /groups/:id/leave', () => {
  it('lets a member leave (204): the group disappears from their list', async () => {
    const { owner, editor, viewer, group } = await team()
    const reply = await ctx.api('POST', `/groups/${group.id}/leave`, { token: editor.token })
    expect(reply.status).toBe(204)
    const list = await ctx.api<{ groups: GroupResponse[] }>('GET', '/groups', { token: editor.token })
    expect(list.body.groups.map((g) => g.id)).not.toContain(group.id)
    expect(await roles(group.id, owner)).toEqual({ [owner.id]: 'owner', [viewer.id]: 'viewer' })
  })

  it('answers 409 to the owner', async () => {
    const { owner, group } = await team()
    expectError(await ctx.api('POST', `/groups/${group.id}/leave`, { token: owner.token }), 409, 'conflict')
    expect((await roles(group.id, owner))[owner.id]).toBe('owner')
  })

  it('answers 403 to a non-member', async () => {
    const { group } = await team()
    const outsider = await registerUser(ctx.api, 'Outsider')
    expectError(await ctx.api('POST', `/groups/${group.id}/leave`, { token: outsider.token }), 403, 'forbidden')
  })
})
