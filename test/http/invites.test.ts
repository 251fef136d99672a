/** Invite codes: create, list, revoke (/groups/:id/invites) and accept (/invites/:code/accept). */
import { describe, expect, it } from 'vitest'
import type { GroupResponse, InviteResponse } from '../../shared/api.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { expectError, useServer } from './context.ts'

type InviteList = { invites: InviteResponse[] }

const ctx = useServer()

const DAY_MS = 86_400_000

/** A code that is well-formed but was never issued. */
const UNKNOWN_CODE = 'neverIssuedInviteCode0'

async function ownerWithGroup(): Promise<{ owner: TestUser; group: GroupResponse }> {
  const owner = await registerUser(ctx.api, 'Owner')
  return { owner, group: await createGroup(ctx.api, owner, 'Invited to') }
}

async function invite(as: TestUser, groupId: string, body: Record<string, unknown> = {}): Promise<InviteResponse> {
  const reply = await ctx.api<InviteResponse>('POST', `/groups/${groupId}/invites`, { token: as.token, body })
  expect(reply.status).toBe(201)
  return reply.body
}

function accept(as: TestUser, code: string) {
  return ctx.api<{ group: GroupResponse }>('POST', `/invites/${code}/accept`, { token: as.token })
}

describe('POST /groups/:id/invites', () => {
  it('lets the owner create an invite with the given role, use limit and expiry', async () => {
    const { owner, group } = await ownerWithGroup()
    const before = Date.now()
    const reply = await ctx.api<InviteResponse>('POST', `/groups/${group.id}/invites`, { token: owner.token, body: { role: 'viewer', maxUses: 3, expiresInSec: 3600 } })
    expect(reply.status).toBe(201)
    expect(reply.body).toMatchObject({ groupId: group.id, role: 'viewer', maxUses: 3, uses: 0 })
    expect(reply.body.code).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    expect(reply.body.expiresAt).toBeGreaterThanOrEqual(before + 3600_000)
    expect(reply.body.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000)
  })

  it('lets an editor create an invite', async () => {
    const { owner, group } = await ownerWithGroup()
    const editor = await registerUser(ctx.api, 'Editor')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const created = await invite(editor, group.id, { role: 'viewer' })
    expect(created).toMatchObject({ groupId: group.id, role: 'viewer', uses: 0 })
    expect(created.expiresAt).toBeGreaterThan(Date.now())
  })

  it('defaults to the editor role, 25 uses and a 7-day expiry', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id)
    expect(created).toMatchObject({ role: 'editor', maxUses: 25, uses: 0 })
    expect(created.expiresAt - created.createdAt).toBe(7 * DAY_MS)
    expect(created.expiresAt).toBeGreaterThan(Date.now())
  })

  it('gives every invite a different code', async () => {
    const { owner, group } = await ownerWithGroup()
    const a = await invite(owner, group.id)
    const b = await invite(owner, group.id)
    expect(a.code).not.toBe(b.code)
  })

  it('answers 403 to a viewer', async () => {
    const { owner, group } = await ownerWithGroup()
    const viewer = await registerUser(ctx.api, 'Viewer')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    expectError(await ctx.api('POST', `/groups/${group.id}/invites`, { token: viewer.token, body: {} }), 403, 'forbidden')
  })

  it('rejects the role owner with 400', async () => {
    const { owner, group } = await ownerWithGroup()
    expectError(await ctx.api('POST', `/groups/${group.id}/invites`, { token: owner.token, body: { role: 'owner' } }), 400, 'bad_request')
  })
})

describe('GET /groups/:id/invites', () => {
  it('lists the group\'s invites to an editor, oldest first', async () => {
    const { owner, group } = await ownerWithGroup()
    const editor = await registerUser(ctx.api, 'Editor')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const first = await invite(owner, group.id, { role: 'viewer', maxUses: 2 })
    const second = await invite(editor, group.id, { role: 'editor', maxUses: 5 })
    const reply = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: editor.token })
    expect(reply.status).toBe(200)
    // Three invites: addMember's own (used once by the editor) and the two above. Invites
    // created in the same millisecond have no defined order, so compare them by code.
    const byCode = new Map(reply.body.invites.map(({ code, groupId, role, maxUses, uses }) => [code, { groupId, role, maxUses, uses }]))
    expect(byCode.size).toBe(3)
    expect(byCode.get(first.code)).toEqual({ groupId: group.id, role: 'viewer', maxUses: 2, uses: 0 })
    expect(byCode.get(second.code)).toEqual({ groupId: group.id, role: 'editor', maxUses: 5, uses: 0 })
    expect(reply.body.invites.filter((i) => i.uses === 1).map((i) => i.role)).toEqual(['editor'])
    const createdAts = reply.body.invites.map((i) => i.createdAt)
    expect(createdAts).toEqual([...createdAts].sort((x, y) => x - y))
  })

  it('answers 403 to a viewer', async () => {
    const { owner, group } = await ownerWithGroup()
    const viewer = await registerUser(ctx.api, 'Viewer')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    expectError(await ctx.api('GET', `/groups/${group.id}/invites`, { token: viewer.token }), 403, 'forbidden')
  })

  it('counts each accepted use', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id, { maxUses: 5 })
    for (const name of ['First', 'Second']) {
      expect((await accept(await registerUser(ctx.api, name), created.code)).status).toBe(200)
    }
    const reply = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: owner.token })
    expect(reply.body.invites.find((i) => i.code === created.code)).toMatchObject({ uses: 2, maxUses: 5 })
  })
})

describe('DELETE /groups/:id/invites/:code', () => {
  it('revokes an invite (204): it is no longer listed and cannot be accepted', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id)
    const reply = await ctx.api('DELETE', `/groups/${group.id}/invites/${created.code}`, { token: owner.token })
    expect(reply.status).toBe(204)
    const list = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: owner.token })
    expect(list.body.invites.map((i) => i.code)).not.toContain(created.code)
    const joiner = await registerUser(ctx.api, 'Late')
    expectError(await accept(joiner, created.code), 404, 'not_found')
  })

  it('answers 404 for an unknown code', async () => {
    const { owner, group } = await ownerWithGroup()
    expectError(await ctx.api('DELETE', `/groups/${group.id}/invites/${UNKNOWN_CODE}`, { token: owner.token }), 404, 'not_found')
  })

  it('answers 404 for another group\'s code and leaves that invite usable', async () => {
    const a = await ownerWithGroup()
    const b = await ownerWithGroup()
    const created = await invite(b.owner, b.group.id)
    expectError(await ctx.api('DELETE', `/groups/${a.group.id}/invites/${created.code}`, { token: a.owner.token }), 404, 'not_found')
    expect((await accept(await registerUser(ctx.api, 'Joiner'), created.code)).status).toBe(200)
  })
})

describe('POST /invites/:code/accept', () => {
  it('joins the group with the invite\'s role and returns the group', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id, { role: 'viewer' })
    const joiner = await registerUser(ctx.api, 'Joiner')
    const reply = await accept(joiner, created.code)
    expect(reply.status).toBe(200)
    expect(reply.body.group).toMatchObject({ id: group.id, name: 'Invited to', ownerId: owner.id, role: 'viewer', memberCount: 2 })
    const list = await ctx.api<{ groups: GroupResponse[] }>('GET', '/groups', { token: joiner.token })
    expect(list.body.groups.map((g) => ({ id: g.id, role: g.role }))).toEqual([{ id: group.id, role: 'viewer' }])
  })

  it('answers 409 to someone already a member, without using the invite', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id, { maxUses: 5 })
    const joiner = await registerUser(ctx.api, 'Twice')
    expect((await accept(joiner, created.code)).status).toBe(200)
    expectError(await accept(joiner, created.code), 409, 'conflict')
    expectError(await accept(owner, created.code), 409, 'conflict')
    const list = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: owner.token })
    expect(list.body.invites.find((i) => i.code === created.code)?.uses).toBe(1)
  })

  it('answers 404 for an unknown code', async () => {
    const joiner = await registerUser(ctx.api, 'Lost')
    expectError(await accept(joiner, UNKNOWN_CODE), 404, 'not_found')
  })

  it('answers 410 gone once the invite is used up', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id, { maxUses: 1 })
    expect((await accept(await registerUser(ctx.api, 'First'), created.code)).status).toBe(200)
    const second = await registerUser(ctx.api, 'Second')
    expectError(await accept(second, created.code), 410, 'gone')
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: second.token }), 403, 'forbidden')
  })

  it('admits exactly one of several users accepting a single-use invite at once', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id, { maxUses: 1 })
    const joiners = await Promise.all(['A', 'B', 'C', 'D'].map((name) => registerUser(ctx.api, name)))
    const replies = await Promise.all(joiners.map((joiner) => accept(joiner, created.code)))
    expect(replies.map((r) => r.status).sort()).toEqual([200, 410, 410, 410])
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(seen.body.memberCount).toBe(2)
  })

  it('grants access at once to a user who was refused before joining', async () => {
    const { owner, group } = await ownerWithGroup()
    const joiner = await registerUser(ctx.api, 'Curious')
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: joiner.token }), 403, 'forbidden')
    const created = await invite(owner, group.id, { role: 'editor' })
    expect((await accept(joiner, created.code)).status).toBe(200)
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: joiner.token })
    expect(seen.status).toBe(200)
    expect(seen.body.role).toBe('editor')
  })

  it('answers 410 gone for an expired invite', async () => {
    const { owner, group } = await ownerWithGroup()
    const now = Date.now()
    const code = `expired${now.toString(36)}${Math.random().toString(36).slice(2, 10)}`
    await ctx.server.app.storage.invites.create({
      code,
      groupId: group.id,
      role: 'editor',
      createdBy: owner.id,
      createdAt: now - 2 * DAY_MS,
      expiresAt: now - 1000,
      maxUses: 10,
      uses: 0,
    })
    const joiner = await registerUser(ctx.api, 'TooLate')
    expectError(await accept(joiner, code), 410, 'gone')
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: joiner.token }), 403, 'forbidden')
  })

  // Found from outside: an invite outlived its maker's right to invite.
  it('deletes an editor\'s invites when she is removed: she cannot re-join through one, and it is no longer listed', async () => {
    const { owner, group } = await ownerWithGroup()
    const editor = await registerUser(ctx.api, 'Removed')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const hers = await invite(editor, group.id, { maxUses: 100 })
    expect((await ctx.api('DELETE', `/groups/${group.id}/members/${editor.id}`, { token: owner.token })).status).toBe(204)

    expectError(await accept(editor, hers.code), 404, 'not_found') // her invites went with her
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: editor.token }), 403, 'forbidden')
    const list = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: owner.token })
    expect(list.body.invites.map((i) => i.code)).not.toContain(hers.code)
  })

  it('voids an editor\'s invites once she is made a viewer, and keeps the owner\'s', async () => {
    const { owner, group } = await ownerWithGroup()
    const editor = await registerUser(ctx.api, 'Demoted')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const hers = await invite(editor, group.id, { role: 'editor' })
    const owners = await invite(owner, group.id, { role: 'editor' })
    expect((await ctx.api('PATCH', `/groups/${group.id}/members/${editor.id}`, { token: owner.token, body: { role: 'viewer' } })).status).toBe(200)

    expectError(await accept(await registerUser(ctx.api, 'Puppet'), hers.code), 404, 'not_found') // gone with her right to invite
    expect((await accept(await registerUser(ctx.api, 'Guest'), owners.code)).status).toBe(200)
  })

  it('answers 410 to an invite whose maker may no longer invite, should one outlive her role (made before invites went with it, or in a race)', async () => {
    const { owner, group } = await ownerWithGroup()
    const viewer = await registerUser(ctx.api, 'Watcher')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    const code = 'outlivedItsMaker0000001'
    await ctx.server.app.storage.invites.create({ code, groupId: group.id, role: 'editor', createdBy: viewer.id, createdAt: Date.now(), expiresAt: Date.now() + DAY_MS, maxUses: 5, uses: 0 })
    expectError(await accept(await registerUser(ctx.api, 'Puppet'), code), 410, 'gone')
    const list = await ctx.api<InviteList>('GET', `/groups/${group.id}/invites`, { token: owner.token })
    expect(list.body.invites.map((i) => i.code)).not.toContain(code)
  })

  it('does not bring a demoted editor\'s invites back when she is made an editor again', async () => {
    const { owner, group } = await ownerWithGroup()
    const editor = await registerUser(ctx.api, 'Yo-yo')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const hers = await invite(editor, group.id, { role: 'editor' })
    for (const role of ['viewer', 'editor']) {
      expect((await ctx.api('PATCH', `/groups/${group.id}/members/${editor.id}`, { token: owner.token, body: { role } })).status).toBe(200)
    }
    expectError(await accept(await registerUser(ctx.api, 'Puppet'), hers.code), 404, 'not_found')
  })

  it('answers 404 once the group was deleted', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id)
    expect((await ctx.api('DELETE', `/groups/${group.id}`, { token: owner.token })).status).toBe(204)
    expectError(await accept(await registerUser(ctx.api, 'Orphan'), created.code), 404, 'not_found')
  })

  it('requires a token', async () => {
    const { owner, group } = await ownerWithGroup()
    const created = await invite(owner, group.id)
    expectError(await ctx.api('POST', `/invites/${created.code}/accept`), 401, 'unauthorized')
  })
})
