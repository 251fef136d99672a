/**
 * Webhooks against a real HTTP receiver: Standard Webhooks signatures checked by an independent
 * verifier, retries after a 500 and a timeout with the same webhook-id, order per endpoint,
 * deliveries and manual retries, disabling, SSRF refusals at registration and at delivery.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeliveryResponse, WebhookResponse } from '../../shared/feed-api.ts'
import { addMember, groupFixture, injectApi, registerUser, type Api } from '../helpers/api.ts'
import { startServer, tempDir, useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { startReceiver, verifySignature, type Receiver } from './webhook-receiver.ts'

let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver()
})
afterEach(async () => {
  await receiver.close()
})

const FAST = { webhookAllowedHosts: ['127.0.0.1'], webhookTimeoutMs: 400, webhookRetryBaseMs: 100, webhookPollMs: 50 }

async function register(api: Api, groupId: string, token: string, body: Record<string, unknown>): Promise<{ status: number; webhook: WebhookResponse; secret: string; body: unknown }> {
  const reply = await api<{ webhook: WebhookResponse; secret: string }>('POST', `/groups/${groupId}/webhooks`, { token, body })
  return { status: reply.status, webhook: reply.body?.webhook, secret: reply.body?.secret, body: reply.body }
}

async function deliveries(api: Api, groupId: string, token: string, webhookId: string): Promise<DeliveryResponse[]> {
  const reply = await api<{ deliveries: DeliveryResponse[] }>('GET', `/groups/${groupId}/webhooks/${webhookId}/deliveries`, { token })
  expect(reply.status).toBe(200)
  return reply.body.deliveries
}

describe('webhook deliveries', () => {
  const ctx = useFreshServer(() => FAST)
  const api = (): Api => injectApi(ctx.server.app)

  it('retries after a 500 and a timeout, then delivers: same webhook-id, valid signature each time', async () => {
    const { fx } = ctx
    const hook = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/hook` })
    expect(hook.status).toBe(201)
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    receiver.script.push(500, 'hang', 200)
    const member = await registerUser(api(), 'Member')
    await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
    await waitFor(() => receiver.received.length >= 3, 15_000, 'three attempts')
    const [first, second, third] = receiver.received
    for (const request of [first!, second!, third!]) {
      expect(verifySignature(hook.secret, request)).toBe(true)
      expect(request.headers['webhook-id']).toBe(`${fx.group.id}.1`)
      expect(request.headers['content-type']).toBe('application/json')
      expect(JSON.parse(request.body)).toEqual({ id: `${fx.group.id}.1`, type: 'member.added', groupId: fx.group.id, at: expect.any(Number), actor: member.id, data: { userId: member.id, role: 'viewer' } })
    }
    expect(verifySignature('whsec_' + Buffer.from('another key').toString('base64'), third!)).toBe(false)
    const [delivery] = await waitFor(async () => {
      const found = await deliveries(api(), fx.group.id, fx.token, hook.webhook.id)
      return found[0]?.status === 'delivered' ? found : null
    }, 5_000, 'delivered')
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, null, 200])
    expect(delivery!.attempts[1]!.error).toMatch(/no answer within 400 ms/)
    expect(delivery!.eventId).toBe(`${fx.group.id}.1`)
  })

  it('delivers in order per endpoint, each event once after its retries; a filtered webhook gets only its types', async () => {
    const { fx } = ctx
    const other = await startReceiver()
    try {
      await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/all` })
      const removals = await register(api(), fx.group.id, fx.token, { url: `${other.url}/removed`, events: ['member.removed'] })
      expect(removals.webhook.events).toEqual(['member.removed'])
      receiver.script.push(503, 503) // the first event is retried twice; the ones after it wait their turn
      const member = await registerUser(api(), 'Member')
      await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
      for (const role of ['editor', 'viewer', 'editor', 'viewer'] as const) await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role } })
      await api()('DELETE', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token })
      const ids = (r: Receiver): string[] => r.received.map((request) => String(request.headers['webhook-id']))
      await waitFor(() => new Set(ids(receiver)).size === 6 && ids(other).length === 1, 15_000, 'every event delivered')
      // Retries of the first event, then each event once, in order.
      expect(ids(receiver)).toEqual([1, 1, 1, 2, 3, 4, 5, 6].map((n) => `${fx.group.id}.${n}`))
      expect(ids(other)).toEqual([`${fx.group.id}.6`])
      expect(JSON.parse(other.received[0]!.body)).toMatchObject({ type: 'member.removed', data: { userId: member.id } })
    } finally {
      await other.close()
    }
  })

  it('does not follow redirects, and reads no more of an answer than it needs', async () => {
    const { fx } = ctx
    const other = await startReceiver()
    try {
      const hook = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/hook` })
      receiver.script.push({ status: 307, headers: { location: `${other.url}/elsewhere` } }, { status: 200, body: 'x'.repeat(1024 * 1024) })
      const member = await registerUser(api(), 'Member')
      await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
      const [delivery] = await waitFor(async () => {
        const found = await deliveries(api(), fx.group.id, fx.token, hook.webhook.id)
        return found[0]?.status === 'delivered' ? found : null
      }, 10_000, 'delivered')
      expect(delivery!.attempts.map((a) => a.status)).toEqual([307, 200])
      expect(other.received).toEqual([])
    } finally {
      await other.close()
    }
  })
})

describe('a deleted group', () => {
  const ctx = useFreshServer(() => FAST)
  const api = (): Api => injectApi(ctx.server.app)

  it('delivers group.deleted, then its webhooks and its feed go; a group without webhooks loses its feed at once', async () => {
    const { fx } = ctx
    const hook = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/hook` })
    const filtered = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/members`, events: ['member.added'] })
    expect((await api()('DELETE', `/groups/${fx.group.id}`, { token: fx.token })).status).toBe(204)
    await waitFor(() => receiver.received.length === 1, 10_000, 'group.deleted delivered')
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'group.deleted', groupId: fx.group.id, actor: fx.owner.id })
    const { storage } = ctx.server.app
    await waitFor(async () => (await storage.webhooks.byGroup(fx.group.id)).length === 0, 10_000, 'webhooks removed')
    await waitFor(async () => (await storage.feed.lastSeq(fx.group.id)) === 0, 10_000, 'feed removed')
    expect(await storage.webhooks.deliveries(hook.webhook.id, 10)).toEqual([])
    expect(await storage.webhooks.get(fx.group.id, filtered.webhook.id)).toBeNull()

    const other = await api()<{ id: string }>('POST', '/groups', { token: fx.token, body: { name: 'No hooks' } })
    await api()('POST', `/groups/${other.body.id}/invites`, { token: fx.token, body: {} })
    await addMember(api(), fx.owner, other.body.id, await registerUser(api(), 'Member'), 'viewer')
    expect(await storage.feed.lastSeq(other.body.id)).toBe(1)
    expect((await api()('DELETE', `/groups/${other.body.id}`, { token: fx.token })).status).toBe(204)
    expect(await storage.feed.lastSeq(other.body.id)).toBe(0)
  })
})

describe('failing endpoints', () => {
  const ctx = useFreshServer(() => ({ ...FAST, webhookRetryWindowMs: 300, webhookDisableAfterMs: 1_500 }))
  const api = (): Api => injectApi(ctx.server.app)

  it('marks a delivery failed after its retry window, goes on, disables an endpoint failing for long; a manual retry delivers and re-enables', async () => {
    const { fx } = ctx
    receiver.fallback = 500
    const hook = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/hook` })
    const member = await registerUser(api(), 'Member')
    await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
    await waitFor(async () => (await deliveries(api(), fx.group.id, fx.token, hook.webhook.id))[0]?.status === 'failed', 10_000, 'failed')
    // Keep it failing until it is disabled.
    const disabled = await waitFor(async () => {
      await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: Math.random() < 0.5 ? 'editor' : 'viewer' } })
      const listed = await api()<{ webhooks: WebhookResponse[] }>('GET', `/groups/${fx.group.id}/webhooks`, { token: fx.token })
      return listed.body.webhooks[0]!.disabled
    }, 15_000, 'disabled')
    expect(disabled.reason).toMatch(/failed .* without a success; last: answered 500/)
    const failed = (await deliveries(api(), fx.group.id, fx.token, hook.webhook.id)).at(-1)!
    expect(failed.status).toBe('failed')
    receiver.fallback = 200
    const retried = await api()<{ delivery: DeliveryResponse }>('POST', `/groups/${fx.group.id}/webhooks/${hook.webhook.id}/deliveries/${failed.id}/retry`, { token: fx.token })
    expect(retried.status).toBe(200)
    expect(retried.body.delivery.status).toBe('pending')
    await waitFor(async () => (await deliveries(api(), fx.group.id, fx.token, hook.webhook.id)).find((d) => d.id === failed.id)?.status === 'delivered', 10_000, 'retried by hand')
    const listed = await api()<{ webhooks: WebhookResponse[] }>('GET', `/groups/${fx.group.id}/webhooks`, { token: fx.token })
    expect(listed.body.webhooks[0]!.disabled).toBeNull()
  })
})

describe('managing webhooks', () => {
  const ctx = useFreshServer(() => ({ webhookAllowedHosts: ['127.0.0.1'], maxWebhooksPerGroup: 2 }))
  const api = (): Api => injectApi(ctx.server.app)

  it('refuses loopback, private, link-local and metadata targets unless allowed, and malformed URLs', async () => {
    const { fx } = ctx
    for (const url of [
      'http://169.254.169.254/latest/meta-data/', 'http://localhost:8080/', 'http://127.0.0.2/', 'http://10.1.2.3/', 'http://192.168.1.1/',
      'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a9fe:a9fe]/', 'http://[fe80::1]/', 'http://[fd00:ec2::254]/', 'http://0.0.0.0/',
      'ftp://example.com/', 'http://user:pass@127.0.0.1/', 'not a url',
    ]) {
      const reply = await register(api(), fx.group.id, fx.token, { url })
      expect(reply.status, url).toBe(400)
    }
    expect((await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/ok` })).status).toBe(201)
  })

  it('lets only owners manage webhooks, caps them per group, validates bodies, deletes', async () => {
    const { fx } = ctx
    const editor = await registerUser(api(), 'Editor')
    await addMember(api(), fx.owner, fx.group.id, editor, 'editor')
    expect((await register(api(), fx.group.id, editor.token, { url: `${receiver.url}/x` })).status).toBe(403)
    expect((await api()('GET', `/groups/${fx.group.id}/webhooks`, { token: editor.token })).status).toBe(403)
    const stranger = await registerUser(api(), 'Stranger')
    expect((await register(api(), fx.group.id, stranger.token, { url: `${receiver.url}/x` })).status).toBe(403)
    expect((await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/x`, events: ['no.such.type'] })).status).toBe(400)
    expect((await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/x`, extra: 1 })).status).toBe(400)
    expect((await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/${'x'.repeat(3000)}` })).status).toBe(400)
    const first = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/1` })
    await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/2` })
    const third = await register(api(), fx.group.id, fx.token, { url: `${receiver.url}/3` })
    expect(third.status).toBe(409)
    expect((third.body as { error: string }).error).toBe('quota_exceeded')
    const listed = await api()<{ webhooks: Array<Record<string, unknown>> }>('GET', `/groups/${fx.group.id}/webhooks`, { token: fx.token })
    expect(listed.body.webhooks).toHaveLength(2)
    expect(listed.body.webhooks.every((w) => !('secret' in w))).toBe(true)
    expect((await api()('DELETE', `/groups/${fx.group.id}/webhooks/${first.webhook.id}`, { token: fx.token })).status).toBe(204)
    expect((await api()('DELETE', `/groups/${fx.group.id}/webhooks/${first.webhook.id}`, { token: fx.token })).status).toBe(404)
    expect((await api()('GET', `/groups/${fx.group.id}/webhooks/${first.webhook.id}/deliveries`, { token: fx.token })).status).toBe(404)
  })
})

describe('delivery-time address check', () => {
  const ctx = useFreshServer(() => ({ webhookPollMs: 50, webhookRetryBaseMs: 100 }))

  it('refuses to connect when the target now resolves to a refused address (as after DNS rebinding)', async () => {
    const { fx } = ctx
    // Stored as if it had passed registration while its name resolved elsewhere; no allow list here.
    await ctx.server.app.storage.webhooks.create({ id: 'rebound-hook-1', groupId: fx.group.id, url: `http://localhost:${receiver.port}/hook`, events: null, secret: 'whsec_AAAA', createdAt: Date.now(), createdBy: fx.owner.id, cursor: 0, failingSince: null, disabled: null })
    const member = await registerUser(injectApi(ctx.server.app), 'Member')
    await addMember(injectApi(ctx.server.app), fx.owner, fx.group.id, member, 'viewer')
    const delivery = await waitFor(async () => (await ctx.server.app.storage.webhooks.deliveries('rebound-hook-1', 1))[0]?.attempts[0], 10_000, 'an attempt')
    expect(delivery.status).toBeNull()
    expect(delivery.error).toMatch(/may not reach/)
    expect(receiver.received).toEqual([])
  })
})

describe('shutdown', () => {
  it('does not wait for a receiver that never answers: the attempt is cut and the delivery stays pending', async () => {
    const dir = await tempDir()
    try {
      const server = await startServer({ dataDir: dir.path, ...FAST, webhookTimeoutMs: 60_000 })
      const api = injectApi(server.app)
      const fx = await groupFixture(api)
      receiver.fallback = 'hang'
      const hook = await register(api, fx.group.id, fx.token, { url: `${receiver.url}/hook` })
      await addMember(api, fx.owner, fx.group.id, await registerUser(api, 'Member'), 'viewer')
      await waitFor(() => receiver.received.length === 1, 10_000, 'the attempt under way')
      const started = performance.now()
      await server.close()
      expect(performance.now() - started).toBeLessThan(5_000)
      const reopened = await startServer({ dataDir: dir.path, webhookPollMs: 60_000 })
      try {
        const [delivery] = await reopened.app.storage.webhooks.deliveries(hook.webhook.id, 1)
        expect(delivery).toMatchObject({ status: 'pending', attempts: [] })
      } finally {
        await reopened.close()
      }
    } finally {
      await dir.remove()
    }
  })
})
