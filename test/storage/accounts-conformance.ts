/** Conformance of the account stores (users, groups, memberships, invites, sessions) for every backend. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newId } from '../../shared/ids.ts'
import type { GroupRecord, InviteRecord, UserRecord } from '../../server/storage/records.ts'
import { DuplicateError } from '../../server/storage/types.ts'
import type { StorageFixture } from './snapshot-conformance.ts'

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return { id: newId(), email: `${newId().toLowerCase()}@example.test`, name: 'U', passwordHash: 'h', createdAt: Date.now(), ...overrides }
}

function group(ownerId: string): GroupRecord {
  return { id: newId(), name: 'G', description: '', ownerId, createdAt: Date.now() }
}

function invite(groupId: string, overrides: Partial<InviteRecord> = {}): InviteRecord {
  const now = Date.now()
  return { code: newId(), groupId, role: 'editor', createdBy: 'x', createdAt: now, expiresAt: now + 60_000, maxUses: 2, uses: 0, ...overrides }
}

export function describeAccountsConformance(name: string, open: () => Promise<StorageFixture>): void {
  describe(`account stores conformance: ${name}`, () => {
    let fixture: StorageFixture

    beforeEach(async () => {
      fixture = await open()
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('users: unique emails, lookups by id, email and many ids', async () => {
      const { users } = fixture.storage
      const a = user()
      await users.create(a)
      await expect(users.create(user({ email: a.email }))).rejects.toBeInstanceOf(DuplicateError)
      expect(await users.byId(a.id)).toEqual(a)
      expect(await users.byEmail(a.email)).toEqual(a)
      expect(await users.byEmail('nobody@example.test')).toBeNull()
      const b = user()
      await users.create(b)
      expect((await users.byIds([a.id, b.id, 'missing'])).map((u) => u.id).sort()).toEqual([a.id, b.id].sort())
    })

    it('groups: create with the owner\'s membership, update, transfer only from the current owner', async () => {
      const { groups, members } = fixture.storage
      const g = group('owner1')
      await groups.create(g, { groupId: g.id, userId: 'owner1', role: 'editor', joinedAt: 1 })
      expect(await groups.byId(g.id)).toEqual(g)
      expect((await members.get(g.id, 'owner1'))?.role).toBe('editor')
      expect((await groups.update(g.id, { name: 'Renamed' }))?.name).toBe('Renamed')
      expect(await groups.update('missing', { name: 'x' })).toBeNull()
      expect(await groups.transferOwnership(g.id, 'someone-else', 'u2')).toBe(false)
      expect(await groups.transferOwnership(g.id, 'owner1', 'u2')).toBe(true)
      expect((await groups.byId(g.id))?.ownerId).toBe('u2')
      expect((await groups.byIds([g.id, 'missing'])).map((x) => x.id)).toEqual([g.id])
    })

    it('memberships: add once, change role, list both ways, count, remove', async () => {
      const { groups, members } = fixture.storage
      const g = group('o')
      await groups.create(g, { groupId: g.id, userId: 'o', role: 'editor', joinedAt: 1 })
      expect(await members.add({ groupId: g.id, userId: 'u1', role: 'viewer', joinedAt: 2 })).toBe(true)
      expect(await members.add({ groupId: g.id, userId: 'u1', role: 'editor', joinedAt: 3 })).toBe(false)
      expect(await members.setRole(g.id, 'u1', 'editor')).toBe(true)
      expect(await members.setRole(g.id, 'nobody', 'editor')).toBe(false)
      expect((await members.get(g.id, 'u1'))?.role).toBe('editor')
      expect((await members.byGroup(g.id)).map((m) => m.userId).sort()).toEqual(['o', 'u1'])
      expect((await members.byUser('u1')).map((m) => m.groupId)).toEqual([g.id])
      expect(await members.countByGroup(g.id)).toBe(2)
      expect(await members.remove(g.id, 'u1')).toBe(true)
      expect(await members.remove(g.id, 'u1')).toBe(false)
      expect(await members.byUser('u1')).toEqual([])
    })

    it('deleting a group removes its memberships and invites', async () => {
      const { groups, members, invites } = fixture.storage
      const g = group('o')
      await groups.create(g, { groupId: g.id, userId: 'o', role: 'editor', joinedAt: 1 })
      await members.add({ groupId: g.id, userId: 'u1', role: 'viewer', joinedAt: 2 })
      const i = invite(g.id)
      await invites.create(i)
      await groups.delete(g.id)
      expect(await groups.byId(g.id)).toBeNull()
      expect(await members.byGroup(g.id)).toEqual([])
      expect(await members.byUser('u1')).toEqual([])
      expect(await invites.get(i.code)).toBeNull()
    })

    it('invites: consumed atomically up to their use limit, never after expiry', async () => {
      const { invites } = fixture.storage
      const i = invite('g1', { maxUses: 3 })
      await invites.create(i)
      expect(await invites.get(i.code)).toEqual(i)
      const results = await Promise.all(Array.from({ length: 6 }, () => invites.consume(i.code, Date.now())))
      expect(results.filter((r) => r !== null)).toHaveLength(3)
      expect((await invites.get(i.code))?.uses).toBe(3)
      const expired = invite('g1', { expiresAt: Date.now() - 1 })
      await invites.create(expired)
      expect(await invites.consume(expired.code, Date.now())).toBeNull()
      expect((await invites.byGroup('g1')).map((x) => x.code).sort()).toEqual([i.code, expired.code].sort())
      expect(await invites.delete(i.code)).toBe(true)
      expect(await invites.delete(i.code)).toBe(false)
    })

    it('sessions: consumed once, refused after expiry, revocable per user', async () => {
      const { sessions } = fixture.storage
      await sessions.create({ tokenHash: 'h1', userId: 'u1', expiresAt: Date.now() + 60_000 })
      const [first, second] = await Promise.all([sessions.consume('h1', Date.now()), sessions.consume('h1', Date.now())])
      expect([first, second].filter((s) => s !== null)).toHaveLength(1)
      await sessions.create({ tokenHash: 'h2', userId: 'u1', expiresAt: Date.now() - 1 })
      expect(await sessions.consume('h2', Date.now())).toBeNull()
      await sessions.create({ tokenHash: 'h3', userId: 'u2', expiresAt: Date.now() + 60_000 })
      await sessions.create({ tokenHash: 'h4', userId: 'u2', expiresAt: Date.now() + 60_000 })
      await sessions.revokeUser('u2')
      expect(await sessions.consume('h3', Date.now())).toBeNull()
      expect(await sessions.consume('h4', Date.now())).toBeNull()
    })
  })
}
