/** /groups: create, list mine, get, update, delete, transfer ownership. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { GroupResponse } from '../../shared/api.ts'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { expectError, UNKNOWN_GROUP_ID, useServer } from './context.ts'

type GroupList = { groups: GroupResponse[] }

const ctx = useServer()

describe('POST /groups', () => {
  it('creates a group owned by the caller, with its two rooms', async () => {
    const owner = await registerUser(ctx.api, 'Creator')
    const reply = await ctx.api<GroupResponse>('POST', '/groups', { token: owner.token, body: { name: '  Design team  ', description: 'Sketches' } })
    expect(reply.status).toBe(201)
    const { id } = reply.body
    expect(id).toMatch(/^[A-Za-z0-9_-]{8,64}$/)
    expect(reply.body).toEqual({
      id,
      name: 'Design team',
      description: 'Sketches',
      ownerId: owner.id,
      role: 'owner',
      memberCount: 1,
      createdAt: expect.any(Number),
      rooms: { canvas: `${id}/canvas`, chat: `${id}/chat` },
    })
  })

  it('defaults the description to an empty string', async () => {
    const owner = await registerUser(ctx.api, 'NoDescription')
    const group = await createGroup(ctx.api, owner, 'Plain')
    expect(group.description).toBe('')
  })

  it('rejects a blank name with 400', async () => {
    const owner = await registerUser(ctx.api, 'Blank')
    expectError(await ctx.api('POST', '/groups', { token: owner.token, body: { name: '   ' } }), 400, 'bad_request')
    expectError(await ctx.api('POST', '/groups', { token: owner.token, body: { name: '' } }), 400, 'bad_request')
  })

  it('rejects a request without a token with 401', async () => {
    expectError(await ctx.api('POST', '/groups', { body: { name: 'Anonymous' } }), 401, 'unauthorized')
  })
})

describe('GET /groups', () => {
  it('lists only my groups, including ones I joined, each with my role', async () => {
    const me = await registerUser(ctx.api, 'Me')
    const other = await registerUser(ctx.api, 'Other')
    const mine = await createGroup(ctx.api, me, 'Mine')
    const joined = await createGroup(ctx.api, other, 'Joined')
    const foreign = await createGroup(ctx.api, other, 'Foreign')
    await addMember(ctx.api, other, joined.id, me, 'viewer')

    const reply = await ctx.api<GroupList>('GET', '/groups', { token: me.token })
    expect(reply.status).toBe(200)
    const summary = reply.body.groups.map((g) => ({ id: g.id, name: g.name, role: g.role, memberCount: g.memberCount }))
    expect(summary).toEqual([
      { id: mine.id, name: 'Mine', role: 'owner', memberCount: 1 },
      { id: joined.id, name: 'Joined', role: 'viewer', memberCount: 2 },
    ])
    expect(reply.body.groups.map((g) => g.id)).not.toContain(foreign.id)
  })

  it('is empty for a user in no group', async () => {
    const loner = await registerUser(ctx.api, 'Loner')
    const reply = await ctx.api<GroupList>('GET', '/groups', { token: loner.token })
    expect(reply.status).toBe(200)
    expect(reply.body.groups).toEqual([])
  })

  it('requires a token', async () => {
    expectError(await ctx.api('GET', '/groups'), 401, 'unauthorized')
  })
})

describe('GET /groups/:id', () => {
  it('returns the group to a member with their role and the member count', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const viewer = await registerUser(ctx.api, 'Viewer')
    const group = await createGroup(ctx.api, owner, 'Counted')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')

    const asOwner = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(asOwner.status).toBe(200)
    expect(asOwner.body).toMatchObject({ id: group.id, name: 'Counted', ownerId: owner.id, role: 'owner', memberCount: 3 })
    const asEditor = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })
    expect(asEditor.body).toMatchObject({ id: group.id, role: 'editor', memberCount: 3 })
    const asViewer = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: viewer.token })
    expect(asViewer.body).toMatchObject({ id: group.id, role: 'viewer', memberCount: 3 })
  })

  it('answers 403 to a non-member', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const outsider = await registerUser(ctx.api, 'Outsider')
    const group = await createGroup(ctx.api, owner)
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: outsider.token }), 403, 'forbidden')
  })

  it('answers 404 for a well-formed id of no group', async () => {
    const user = await registerUser(ctx.api, 'Seeker')
    expectError(await ctx.api('GET', `/groups/${UNKNOWN_GROUP_ID}`, { token: user.token }), 404, 'not_found')
  })

  it('answers 400 for a malformed id', async () => {
    const user = await registerUser(ctx.api, 'Typo')
    expectError(await ctx.api('GET', `/groups/${encodeURIComponent('bad!')}`, { token: user.token }), 400, 'bad_request')
  })
})

describe('PATCH /groups/:id', () => {
  it('lets the owner change name and description, visible to members', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const group = await createGroup(ctx.api, owner, 'Before')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    expect((await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })).body.name).toBe('Before')

    const reply = await ctx.api<GroupResponse>('PATCH', `/groups/${group.id}`, { token: owner.token, body: { name: ' After ', description: 'New words' } })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ id: group.id, name: 'After', description: 'New words', role: 'owner', memberCount: 2 })
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })
    expect(seen.body).toMatchObject({ name: 'After', description: 'New words', role: 'editor' })
  })

  it('changes only the fields given', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const created = await ctx.api<GroupResponse>('POST', '/groups', { token: owner.token, body: { name: 'Keep me', description: 'Old' } })
    const reply = await ctx.api<GroupResponse>('PATCH', `/groups/${created.body.id}`, { token: owner.token, body: { description: 'Only this' } })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ name: 'Keep me', description: 'Only this' })
  })

  it('answers 403 to an editor and changes nothing', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const group = await createGroup(ctx.api, owner, 'Unchanged')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    expectError(await ctx.api('PATCH', `/groups/${group.id}`, { token: editor.token, body: { name: 'Hijacked' } }), 403, 'forbidden')
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(seen.body.name).toBe('Unchanged')
  })

  it('answers 404 for an unknown group', async () => {
    const user = await registerUser(ctx.api, 'Patcher')
    expectError(await ctx.api('PATCH', `/groups/${UNKNOWN_GROUP_ID}`, { token: user.token, body: { name: 'X' } }), 404, 'not_found')
  })

  it('rejects an empty body with 400', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const group = await createGroup(ctx.api, owner)
    expectError(await ctx.api('PATCH', `/groups/${group.id}`, { token: owner.token, body: {} }), 400, 'bad_request')
  })

  it('rejects a blank name with 400', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const group = await createGroup(ctx.api, owner, 'Named')
    expectError(await ctx.api('PATCH', `/groups/${group.id}`, { token: owner.token, body: { name: '  ' } }), 400, 'bad_request')
  })
})

describe('DELETE /groups/:id', () => {
  it('answers 403 to an editor and keeps the group', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const group = await createGroup(ctx.api, owner)
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    expectError(await ctx.api('DELETE', `/groups/${group.id}`, { token: editor.token }), 403, 'forbidden')
    expect((await ctx.api('GET', `/groups/${group.id}`, { token: owner.token })).status).toBe(200)
  })

  it('answers 404 for an unknown group', async () => {
    const user = await registerUser(ctx.api, 'Deleter')
    expectError(await ctx.api('DELETE', `/groups/${UNKNOWN_GROUP_ID}`, { token: user.token }), 404, 'not_found')
  })

  it('lets the owner delete the group: gone for every member, documents deleted', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const group = await createGroup(ctx.api, owner, 'Doomed')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    const { storage, updateLog } = ctx.server.app
    // Give both rooms stored state, so the deletion has something to delete.
    expect((await ctx.api('POST', `/groups/${group.id}/messages`, { token: owner.token, body: { text: 'last words' } })).status).toBe(201)
    const update = Y.encodeStateAsUpdate(new Y.Doc())
    for (const room of [group.rooms.canvas, group.rooms.chat]) {
      expect(await storage.snapshots.save(room, update, '1-0')).toBe(true)
      expect(await storage.snapshots.load(room)).not.toBeNull()
    }
    expect((await updateLog.read(group.rooms.chat, '0-0', 100)).length).toBeGreaterThan(0)

    const reply = await ctx.api('DELETE', `/groups/${group.id}`, { token: owner.token })
    expect(reply.status).toBe(204)
    expect(reply.body).toBeUndefined()

    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: owner.token }), 404, 'not_found')
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: editor.token }), 404, 'not_found')
    for (const member of [owner, editor]) {
      const list = await ctx.api<GroupList>('GET', '/groups', { token: member.token })
      expect(list.body.groups.map((g) => g.id)).not.toContain(group.id)
    }
    expect(await storage.snapshots.load(group.rooms.canvas)).toBeNull()
    expect(await storage.snapshots.load(group.rooms.chat)).toBeNull()
    expect(await updateLog.read(group.rooms.chat, '0-0', 100)).toEqual([])
  })
})

describe('POST /groups/:id/transfer', () => {
  async function ownedWithEditor() {
    const owner = await registerUser(ctx.api, 'Owner')
    const editor = await registerUser(ctx.api, 'Editor')
    const group = await createGroup(ctx.api, owner, 'Handed over')
    await addMember(ctx.api, owner, group.id, editor, 'editor')
    return { owner, editor, group }
  }

  it('makes the target the owner and the old owner an editor', async () => {
    const { owner, editor, group } = await ownedWithEditor()
    expect((await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })).body.role).toBe('editor')
    const reply = await ctx.api<GroupResponse>('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: editor.id } })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ id: group.id, ownerId: editor.id, role: 'editor', memberCount: 2 })

    const asNewOwner = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: editor.token })
    expect(asNewOwner.body).toMatchObject({ ownerId: editor.id, role: 'owner' })
    const asOldOwner = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(asOldOwner.body).toMatchObject({ ownerId: editor.id, role: 'editor' })
  })

  it('lists the new owner as owner and the old one as editor among the members', async () => {
    const { owner, editor, group } = await ownedWithEditor()
    expect((await ctx.api('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: editor.id } })).status).toBe(200)
    const members = await ctx.api<{ members: Array<{ userId: string; role: string }> }>('GET', `/groups/${group.id}/members`, { token: owner.token })
    expect(Object.fromEntries(members.body.members.map((m) => [m.userId, m.role]))).toEqual({ [owner.id]: 'editor', [editor.id]: 'owner' })
  })

  it('makes an owner who joined as a viewer an editor when they hand ownership on', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const viewer = await registerUser(ctx.api, 'Viewer')
    const group = await createGroup(ctx.api, owner, 'Round trip')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    expect((await ctx.api('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: viewer.id } })).status).toBe(200)
    expect((await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: viewer.token })).body.role).toBe('owner')
    const back = await ctx.api<GroupResponse>('POST', `/groups/${group.id}/transfer`, { token: viewer.token, body: { userId: owner.id } })
    expect(back.status).toBe(200)
    expect(back.body).toMatchObject({ ownerId: owner.id, role: 'editor' })
    expect((await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })).body.role).toBe('owner')
  })

  it('answers 409 when the target is not a member', async () => {
    const { owner, group } = await ownedWithEditor()
    const stranger = await registerUser(ctx.api, 'Stranger')
    expectError(await ctx.api('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: stranger.id } }), 409, 'conflict')
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(seen.body).toMatchObject({ ownerId: owner.id, role: 'owner' })
  })

  it('answers 403 to a non-owner', async () => {
    const { owner, editor, group } = await ownedWithEditor()
    expectError(await ctx.api('POST', `/groups/${group.id}/transfer`, { token: editor.token, body: { userId: editor.id } }), 403, 'forbidden')
    const seen = await ctx.api<GroupResponse>('GET', `/groups/${group.id}`, { token: owner.token })
    expect(seen.body.ownerId).toBe(owner.id)
  })

  it('answers 400 for a transfer to oneself', async () => {
    const { owner, group } = await ownedWithEditor()
    expectError(await ctx.api('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: owner.id } }), 400, 'bad_request')
  })

  it('moves the right to delete: the old owner gets 403, the new owner 204', async () => {
    const { owner, editor, group } = await ownedWithEditor()
    expect((await ctx.api('POST', `/groups/${group.id}/transfer`, { token: owner.token, body: { userId: editor.id } })).status).toBe(200)
    expectError(await ctx.api('DELETE', `/groups/${group.id}`, { token: owner.token }), 403, 'forbidden')
    expect((await ctx.api('DELETE', `/groups/${group.id}`, { token: editor.token })).status).toBe(204)
    expectError(await ctx.api('GET', `/groups/${group.id}`, { token: editor.token }), 404, 'not_found')
  })
})
