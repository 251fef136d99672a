/**
 * Quotas (README "Limits and quotas"), set small here: 3 groups per user, 2 live invites per
 * group, 3 REST chat posts per minute per user, 2 invite accepts per minute per address. Count
 * quotas answer 409 `quota_exceeded`, rate limits 429 `rate_limited` with Retry-After; the
 * offender pays and nobody else notices.
 */
import { describe, expect, it } from 'vitest'
import type { GroupResponse, InviteResponse } from '../../shared/api.ts'
import { createGroup, registerUser, type Reply, type TestUser } from '../helpers/api.ts'
import { expectError, useServer } from './context.ts'

const ctx = useServer({ maxGroupsPerUser: 3, maxInvitesPerGroup: 2, messageRateLimitPerMinute: 3, inviteAcceptRateLimitPerMinute: 2 })

let addresses = 0
/** A client address no other test uses (the accept limit counts per address). */
function freshAddress(): string {
  addresses++
  return `10.1.${Math.floor(addresses / 250)}.${addresses % 250 + 1}`
}

async function acceptFrom(user: TestUser, code: string, remoteAddress: string, headers: Record<string, string> = {}): Promise<Reply & { retryAfter: unknown }> {
  const response = await ctx.server.app.inject({ method: 'POST', url: `/invites/${code}/accept`, remoteAddress, headers: { authorization: `Bearer ${user.token}`, ...headers } })
  return { status: response.statusCode, body: response.json(), retryAfter: response.headers['retry-after'] }
}

function createInvite(as: TestUser, groupId: string, body: Record<string, unknown> = {}): Promise<Reply<InviteResponse>> {
  return ctx.api<InviteResponse>('POST', `/groups/${groupId}/invites`, { token: as.token, body })
}

async function join(user: TestUser, owner: TestUser, groupId: string): Promise<void> {
  const invite = await createInvite(owner, groupId, { maxUses: 1 })
  expect((await acceptFrom(user, invite.body.code, freshAddress())).status).toBe(200)
}

function createAs(user: TestUser, name: string): Promise<Reply<GroupResponse>> {
  return ctx.api<GroupResponse>('POST', '/groups', { token: user.token, body: { name } })
}

describe('groups per user (MAX_GROUPS_PER_USER)', () => {
  it('refuses a group past the quota with 409 quota_exceeded; other users are unaffected', async () => {
    const [alice, bob] = [await registerUser(ctx.api, 'Alice'), await registerUser(ctx.api, 'Bob')]
    for (const name of ['a1', 'a2', 'a3']) expect((await createAs(alice, name)).status).toBe(201)
    const refused = await createAs(alice, 'a4')
    expectError(refused, 409, 'quota_exceeded')
    expect((refused.body as unknown as { message: string }).message).toMatch(/3 groups/)
    expect((await createAs(bob, 'b1')).status).toBe(201)
    const listed = await ctx.api<{ groups: GroupResponse[] }>('GET', '/groups', { token: alice.token })
    expect(listed.body.groups.map((g) => g.name)).toEqual(['a1', 'a2', 'a3'])
  })

  it('counts joined groups: accepting an invite past the quota is refused and spends no use', async () => {
    const [carol, dave] = [await registerUser(ctx.api, 'Carol'), await registerUser(ctx.api, 'Dave')]
    const davesGroup = await createGroup(ctx.api, dave, 'Dave’s')
    for (const name of ['c1', 'c2']) await createGroup(ctx.api, carol, name)
    await join(carol, dave, davesGroup.id)
    expectError(await createAs(carol, 'c3'), 409, 'quota_exceeded')

    const another = await createGroup(ctx.api, dave, 'Dave’s second')
    const invite = await createInvite(dave, another.id, { maxUses: 1 })
    expectError(await acceptFrom(carol, invite.body.code, freshAddress()), 409, 'quota_exceeded')
    const invites = await ctx.api<{ invites: InviteResponse[] }>('GET', `/groups/${another.id}/invites`, { token: dave.token })
    expect(invites.body.invites.find((i) => i.code === invite.body.code)?.uses).toBe(0)
  })

  it('frees a slot when a group is deleted', async () => {
    const erin = await registerUser(ctx.api, 'Erin')
    const groups = [await createGroup(ctx.api, erin, 'e1'), await createGroup(ctx.api, erin, 'e2'), await createGroup(ctx.api, erin, 'e3')]
    expectError(await createAs(erin, 'e4'), 409, 'quota_exceeded')
    expect((await ctx.api('DELETE', `/groups/${groups[0]!.id}`, { token: erin.token })).status).toBe(204)
    expect((await createAs(erin, 'e4')).status).toBe(201)
  })

  it('holds when one user creates many groups at once', async () => {
    const frank = await registerUser(ctx.api, 'Frank')
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => createAs(frank, `f${i}`)))
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3)
    for (const reply of replies.filter((r) => r.status !== 201)) expectError(reply, 409, 'quota_exceeded')
  })
})

describe('live invites per group (MAX_INVITES_PER_GROUP)', () => {
  it('refuses an invite past the quota with 409 quota_exceeded; other groups are unaffected', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const [full, other] = [await createGroup(ctx.api, owner, 'full'), await createGroup(ctx.api, owner, 'other')]
    const first = await createInvite(owner, full.id)
    expect(first.status).toBe(201)
    expect((await createInvite(owner, full.id)).status).toBe(201)
    expectError(await createInvite(owner, full.id), 409, 'quota_exceeded')
    expect((await createInvite(owner, other.id)).status).toBe(201)

    expect((await ctx.api('DELETE', `/groups/${full.id}/invites/${first.body.code}`, { token: owner.token })).status).toBe(204)
    expect((await createInvite(owner, full.id)).status).toBe(201)
  })

  it('does not count invites that are used up', async () => {
    const owner = await registerUser(ctx.api, 'Owner')
    const group = await createGroup(ctx.api, owner, 'busy')
    await join(await registerUser(ctx.api, 'Joiner'), owner, group.id)
    await join(await registerUser(ctx.api, 'Joiner'), owner, group.id)
    expect((await createInvite(owner, group.id)).status).toBe(201)
    expect((await createInvite(owner, group.id)).status).toBe(201)
    expectError(await createInvite(owner, group.id), 409, 'quota_exceeded')
  })
})

describe('REST chat posts per minute per user (MESSAGE_RATE_LIMIT_PER_MINUTE)', () => {
  it('answers 429 rate_limited with a retry hint past the limit; another member keeps posting', async () => {
    const owner = await registerUser(ctx.api, 'Chatty')
    const editor = await registerUser(ctx.api, 'Calm')
    const group = await createGroup(ctx.api, owner, 'chat')
    await join(editor, owner, group.id)
    const post = (as: TestUser, text: string) => ctx.server.app.inject({ method: 'POST', url: `/groups/${group.id}/messages`, headers: { authorization: `Bearer ${as.token}` }, payload: { text } })

    for (const text of ['one', 'two', 'three']) expect((await post(owner, text)).statusCode).toBe(201)
    const refused = await post(owner, 'four')
    expectError({ status: refused.statusCode, body: refused.json() }, 429, 'rate_limited')
    expect(refused.json().message).toMatch(/retry in \d+ s/)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)

    expect((await post(editor, 'still here')).statusCode).toBe(201)
    const page = await ctx.api<{ messages: Array<{ text: string }> }>('GET', `/groups/${group.id}/messages`, { token: owner.token })
    expect(page.body.messages.map((m) => m.text)).toEqual(['one', 'two', 'three', 'still here'])
  })
})

describe('invite accepts per minute per address (INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE)', () => {
  it('answers 429 rate_limited past the limit from one address; another address is unaffected', async () => {
    const owner = await registerUser(ctx.api, 'Host')
    const group = await createGroup(ctx.api, owner, 'open house')
    const invite = await createInvite(owner, group.id, { maxUses: 10 })
    const guests = await Promise.all(Array.from({ length: 4 }, (_, i) => registerUser(ctx.api, `Guest${i}`)))
    const busy = freshAddress()

    expect((await acceptFrom(guests[0]!, invite.body.code, busy)).status).toBe(200)
    expect((await acceptFrom(guests[1]!, invite.body.code, busy)).status).toBe(200)
    const refused = await acceptFrom(guests[2]!, invite.body.code, busy)
    expectError(refused, 429, 'rate_limited')
    expect(Number(refused.retryAfter)).toBeGreaterThan(0)
    // Without TRUST_PROXY a forwarded-for header is not the client's address.
    expectError(await acceptFrom(guests[2]!, invite.body.code, busy, { 'x-forwarded-for': freshAddress() }), 429, 'rate_limited')

    expect((await acceptFrom(guests[2]!, invite.body.code, freshAddress())).status).toBe(200)
  })
})

describe('invite accepts behind a trusted balancer (TRUST_PROXY=10.9.0.1)', () => {
  const proxied = useServer({ inviteAcceptRateLimitPerMinute: 1, trustProxy: ['10.9.0.1'] })

  it('counts per forwarded client address, so clients behind one balancer do not share a budget', async () => {
    const owner = await registerUser(proxied.api, 'Host')
    const group = await createGroup(proxied.api, owner, 'behind nginx')
    const invite = await proxied.api<InviteResponse>('POST', `/groups/${group.id}/invites`, { token: owner.token, body: { maxUses: 10 } })
    const acceptVia = async (forwardedFor: string) => {
      const guest = await registerUser(proxied.api, 'Guest')
      const response = await proxied.server.app.inject({ method: 'POST', url: `/invites/${invite.body.code}/accept`, remoteAddress: '10.9.0.1', headers: { authorization: `Bearer ${guest.token}`, 'x-forwarded-for': forwardedFor } })
      return { status: response.statusCode, body: response.json() }
    }
    expect((await acceptVia('203.0.113.1')).status).toBe(200)
    expectError(await acceptVia('203.0.113.1'), 429, 'rate_limited')
    expect((await acceptVia('203.0.113.2')).status).toBe(200)
  })
})
