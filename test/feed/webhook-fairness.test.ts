/**
 * One slow endpoint does not hold up the others. A webhook answering just under the timeout,
 * with a backlog of events, keeps one worker at a time (for a bounded turn); another group's
 * webhook is delivered meanwhile as fast as without it, and the slow one still gets every event
 * in order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addMember, createGroup, injectApi, registerUser, type Api } from '../helpers/api.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { startReceiver, type Receiver } from './webhook-receiver.ts'

/** Far below the slow endpoint's backlog (17 events x 900 ms) and far above a fast delivery. */
const PROMPT_MS = 6_000
const ROLE_CHANGES = 16

let victim: Receiver
let slow: Receiver
beforeEach(async () => {
  victim = await startReceiver(200)
  slow = await startReceiver(200)
})
afterEach(async () => {
  await victim.close()
  await slow.close()
})

describe('webhook dispatch fairness', () => {
  const ctx = useFreshServer(() => ({ webhookAllowedHosts: ['127.0.0.1'], webhookTimeoutMs: 1_000, webhookRetryBaseMs: 100, webhookPollMs: 50 }))
  const api = (): Api => injectApi(ctx.server.app)

  it('delivers another group\'s event promptly while a slow endpoint works through its backlog', async () => {
    const { fx } = ctx
    expect((await api()('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `${victim.url}/victim` } })).status).toBe(201)

    // Mallory's group: a webhook answering 2xx after 900 ms (under the 1 s timeout), and a backlog of events.
    const mallory = await registerUser(api(), 'Mallory')
    const own = await createGroup(api(), mallory, 'mine')
    expect((await api()('POST', `/groups/${own.id}/webhooks`, { token: mallory.token, body: { url: `${slow.url}/slow` } })).status).toBe(201)
    slow.fallback = { status: 200, delayMs: 900 }
    const puppet = await registerUser(api(), 'Puppet')
    await addMember(api(), mallory, own.id, puppet, 'viewer')
    for (let i = 0; i < ROLE_CHANGES; i++) await api()('PATCH', `/groups/${own.id}/members/${puppet.id}`, { token: mallory.token, body: { role: i % 2 === 0 ? 'editor' : 'viewer' } })
    await waitFor(() => slow.received.length >= 2, 10_000, 'the slow endpoint is being served')

    const friend = await registerUser(api(), 'Friend')
    const startedAt = Date.now()
    await addMember(api(), fx.owner, fx.group.id, friend, 'viewer')
    await waitFor(() => victim.received.length >= 1, PROMPT_MS, 'the other group\'s delivery, while the slow endpoint is served')
    expect(Date.now() - startedAt).toBeLessThan(PROMPT_MS)
    expect(slow.received.length).toBeLessThan(ROLE_CHANGES + 1) // the slow one was still busy: the delivery did not wait for it

    // The slow endpoint still gets every event (member.added and the role changes), once each, in order.
    const received = await waitFor(() => (slow.received.length >= ROLE_CHANGES + 1 ? slow.received : null), 40_000, 'the slow endpoint\'s backlog')
    const seqs = received.map((r) => Number(String(r.headers['webhook-id']).split('.').at(-1)))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
  }, 90_000)
})
