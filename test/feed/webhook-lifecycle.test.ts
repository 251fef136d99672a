/**
 * A webhook's lifecycle under hostile timing: deleted while it is being sent to, it gets nothing
 * more than the attempt under way (the dispatcher re-reads it before every step rather than
 * working from the copy its turn started with); a failed write while it takes its next event
 * loses nothing (the delivery is stored before the webhook's position moves past the event);
 * a webhook whose creator hands the group over is disabled, and gets nothing after the handover.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeliveryResponse } from '../../shared/feed-api.ts'
import { addMember, injectApi, registerUser, type Api } from '../helpers/api.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { startReceiver, type Receiver } from './webhook-receiver.ts'

const FAST = { webhookAllowedHosts: ['127.0.0.1'], webhookTimeoutMs: 2_000, webhookRetryBaseMs: 100, webhookPollMs: 50 }

let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver(200)
})
afterEach(async () => {
  await receiver.close()
})

const seqOf = (webhookId: unknown): number => Number(String(webhookId).split('.').at(-1))

describe('a webhook deleted while it is being sent to', () => {
  const ctx = useFreshServer(() => FAST)
  const api = (): Api => injectApi(ctx.server.app)

  it('gets nothing after the attempt under way, events recorded after the deletion included', async () => {
    const { fx } = ctx
    const created = await api()<{ webhook: { id: string } }>('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `${receiver.url}/deleted` } })
    expect(created.status).toBe(201)
    // The first attempt is answered late, after the deletion; the rest at once (so a sender
    // working from a stale copy would go on within its turn).
    receiver.script = [{ status: 200, delayMs: 400 }]
    const member = await registerUser(api(), 'M')
    await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
    for (let i = 0; i < 6; i++) await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: i % 2 === 0 ? 'editor' : 'viewer' } })
    await waitFor(() => receiver.received.length >= 1, 10_000, 'the first attempt')
    expect((await api()('DELETE', `/groups/${fx.group.id}/webhooks/${created.body.webhook.id}`, { token: fx.token })).status).toBe(204)

    // Another webhook, and events after the deletion: once it has them all, the dispatcher has had its turns.
    expect((await api()('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `${receiver.url}/other` } })).status).toBe(201)
    for (let i = 0; i < 3; i++) await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: i % 2 === 0 ? 'editor' : 'viewer' } })
    await waitFor(() => receiver.received.filter((r) => r.path === '/other').length >= 3, 15_000, 'the other webhook\'s deliveries')

    expect(receiver.received.filter((r) => r.path === '/deleted').map((r) => seqOf(r.headers['webhook-id']))).toHaveLength(1)
  })
})

describe('a failed write while a webhook takes its next event', () => {
  const ctx = useFreshServer(() => FAST)
  const api = (): Api => injectApi(ctx.server.app)

  it('loses nothing: the event is delivered once storage takes the delivery, before the next one', async () => {
    const { fx } = ctx
    const created = await api()<{ webhook: { id: string } }>('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `${receiver.url}/h` } })
    expect(created.status).toBe(201)
    const store = ctx.server.app.storage.webhooks
    const put = store.putDelivery.bind(store)
    let failures = 1
    store.putDelivery = async (delivery) => {
      if (failures > 0) {
        failures--
        throw new Error('storage hiccup (simulated)')
      }
      return put(delivery)
    }
    await addMember(api(), fx.owner, fx.group.id, await registerUser(api(), 'A'), 'viewer') // event 1: its delivery's first write fails
    await waitFor(() => failures === 0, 10_000, 'the failed write')
    await addMember(api(), fx.owner, fx.group.id, await registerUser(api(), 'B'), 'viewer') // event 2
    await waitFor(() => receiver.received.some((r) => seqOf(r.headers['webhook-id']) === 2), 10_000, 'event 2 delivered')

    expect(receiver.received.map((r) => String(r.headers['webhook-id']))).toEqual([`${fx.group.id}.1`, `${fx.group.id}.2`])
    const listed = await api()<{ deliveries: DeliveryResponse[] }>('GET', `/groups/${fx.group.id}/webhooks/${created.body.webhook.id}/deliveries`, { token: fx.token })
    expect(listed.body.deliveries.map((d) => `${d.eventId}:${d.status}`).sort()).toEqual([`${fx.group.id}.1:delivered`, `${fx.group.id}.2:delivered`])
  })
})

describe('a webhook whose creator no longer owns the group', () => {
  const ctx = useFreshServer(() => FAST)
  const api = (): Api => injectApi(ctx.server.app)

  it('is disabled on the handover, gets nothing recorded after it, and cannot be re-enabled by a retry', async () => {
    const { fx } = ctx
    const tap = await api()<{ webhook: { id: string } }>('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `${receiver.url}/tap` } })
    expect(tap.status).toBe(201)
    const alice = await registerUser(api(), 'Alice')
    await addMember(api(), fx.owner, fx.group.id, alice, 'editor')
    await waitFor(() => receiver.received.some((r) => r.path === '/tap'), 10_000, 'the tap gets member.added')
    expect((await api()('POST', `/groups/${fx.group.id}/transfer`, { token: fx.token, body: { userId: alice.id } })).status).toBe(200)

    type Listed = { id: string; createdBy: string; disabled: { reason: string } | null }
    const listed = await waitFor(async () => {
      const reply = await api()<{ webhooks: Listed[] }>('GET', `/groups/${fx.group.id}/webhooks`, { token: alice.token })
      const hook = reply.body.webhooks.find((w) => w.id === tap.body.webhook.id)
      return hook?.disabled ? hook : null
    }, 10_000, 'the tap disabled')
    expect(listed.createdBy).toBe(fx.owner.id)
    expect(listed.disabled!.reason).toMatch(/no longer the group's owner/)

    // Alice's own webhook gets what happens next; once it has, the tap has had its chance.
    expect((await api()('POST', `/groups/${fx.group.id}/webhooks`, { token: alice.token, body: { url: `${receiver.url}/alice` } })).status).toBe(201)
    expect((await api()('POST', `/groups/${fx.group.id}/versions`, { token: alice.token, body: { doc: 'chat', name: 'after the handover' } })).status).toBe(201)
    await waitFor(() => receiver.received.some((r) => r.path === '/alice' && r.body.includes('after the handover')), 10_000, 'alice\'s webhook gets the version')
    expect(receiver.received.filter((r) => r.path === '/tap').map((r) => JSON.parse(r.body).type)).toEqual(['member.added'])

    const [first] = (await api()<{ deliveries: DeliveryResponse[] }>('GET', `/groups/${fx.group.id}/webhooks/${tap.body.webhook.id}/deliveries`, { token: alice.token })).body.deliveries
    const retried = await api()('POST', `/groups/${fx.group.id}/webhooks/${tap.body.webhook.id}/deliveries/${first!.id}/retry`, { token: alice.token })
    expect(retried.status).toBe(409)
  })
})
