/**
 * Two nodes on Redis and MongoDB: events made on either node (REST changes, and chat messages
 * from stock clients on both nodes, derived at compaction) reach the feed once and a webhook once
 * per event, not once per node; either node serves the same feed. Then a node is killed with
 * SIGKILL while deliveries are pending, and the other delivers them once the lease lapses.
 */
import { expect, it } from 'vitest'
import { postMessage } from '../../shared/chat.ts'
import type { WebhookResponse } from '../../shared/feed-api.ts'
import { addMember, registerUser } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/wait.ts'
import { allEvents, ofType, readStream } from './feed-helpers.ts'
import { startReceiver } from './webhook-receiver.ts'

const ctx = useCluster(2, { COMPACT_IDLE_MS: '200', COMPACT_SWEEP_MS: '1000', COMPACT_LEASE_TTL_MS: '2000', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_POLL_MS: '100', INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000' })

it('delivers each event once per endpoint in a two-node cluster', async () => {
  const receiver = await startReceiver(200)
  try {
    const [a, b] = [ctx.cluster.api(0), ctx.cluster.api(1)]
    const { group, owner } = ctx
    const hook = await a<{ webhook: WebhookResponse }>('POST', `/groups/${group.id}/webhooks`, { token: owner.token, body: { url: `${receiver.url}/hook` } })
    expect(hook.status).toBe(201)
    const member = await registerUser(a, 'Member')
    await addMember(b, owner, group.id, member, 'editor')
    await a('PATCH', `/groups/${group.id}/members/${member.id}`, { token: owner.token, body: { role: 'viewer' } })
    await b('PATCH', `/groups/${group.id}/members/${member.id}`, { token: owner.token, body: { role: 'editor' } })

    const onA = await connectSynced(ctx.cluster.nodes[0]!.collabUrl, group.rooms.chat, { token: owner.token })
    const onB = await connectSynced(ctx.cluster.nodes[1]!.collabUrl, group.rooms.chat, { token: member.token })
    ctx.clients.push(onA, onB)
    for (let i = 0; i < 5; i++) {
      postMessage(onA.doc, { author: owner.id, authorName: 'Owner', text: `from a ${i}` })
      postMessage(onB.doc, { author: member.id, authorName: 'Member', text: `from b ${i}` })
    }
    const created = await waitFor(async () => {
      const events = await allEvents(b, group.id, owner.token)
      return ofType(events, 'chat.message.created').length >= 10 ? events : null
    }, 20_000, 'ten messages in the feed')
    expect(ofType(created, 'chat.message.created')).toHaveLength(10)
    expect(new Set(ofType(created, 'chat.message.created').map((e) => (e.data.message as { id: string }).id)).size).toBe(10)
    expect(await allEvents(a, group.id, owner.token)).toEqual(created)

    const total = created.length
    await waitFor(() => receiver.received.length >= total, 20_000, 'every event delivered')
    // Both nodes keep polling meanwhile: nothing arrives twice.
    await waitFor(async () => (await a<{ deliveries: Array<{ status: string }> }>('GET', `/groups/${group.id}/webhooks/${hook.body.webhook.id}/deliveries?limit=100`, { token: owner.token })).body.deliveries.filter((d) => d.status === 'delivered').length === total, 10_000, 'deliveries recorded')
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']))
    expect(ids).toEqual(created.map((e) => e.id))
  } finally {
    await receiver.close()
  }
}, 90_000)

it('streams to a reader on one node the events made on the other', async () => {
  const { group, owner } = ctx
  const [a, b] = [ctx.cluster.api(0), ctx.cluster.api(1)]
  const newest = (await allEvents(b, group.id, owner.token)).at(-1)?.id
  const streamed = readStream(ctx.cluster.nodes[1]!.url, group.id, owner.token, newest === undefined ? {} : { 'last-event-id': newest }, 1)
  const member = await registerUser(a, 'Streamed')
  await addMember(a, owner, group.id, member, 'viewer')
  expect(await streamed).toMatchObject([{ type: 'member.added', data: { userId: member.id } }])
})

it('delivers what was pending after either node is killed with SIGKILL', async () => {
  const receiver = await startReceiver(500)
  try {
    const api = ctx.cluster.api(1)
    const { group, owner } = ctx
    const hook = await api<{ webhook: WebhookResponse }>('POST', `/groups/${group.id}/webhooks`, { token: owner.token, body: { url: `${receiver.url}/pending` } })
    const member = await registerUser(api, 'Late member')
    await addMember(api, owner, group.id, member, 'viewer')
    await api('PATCH', `/groups/${group.id}/members/${member.id}`, { token: owner.token, body: { role: 'editor' } })
    const expected = (await allEvents(api, group.id, owner.token)).slice(-2).map((e) => e.id)
    await waitFor(() => receiver.received.length >= 2, 10_000, 'failing attempts')
    await ctx.cluster.killNode(0, 'SIGKILL') // whichever node held the lease, one is left
    receiver.fallback = 200
    const ok = (): string[] => receiver.received.map((r) => String(r.headers['webhook-id']))
    await waitFor(async () => {
      const listed = await api<{ deliveries: Array<{ status: string }> }>('GET', `/groups/${group.id}/webhooks/${hook.body.webhook.id}/deliveries`, { token: owner.token })
      return listed.body.deliveries.length === 2 && listed.body.deliveries.every((d) => d.status === 'delivered')
    }, 20_000, 'delivered by the node left')
    expect([...new Set(ok())]).toEqual(expected)
  } finally {
    await receiver.close()
  }
}, 60_000)
