/**
 * kill -9 with deliveries pending: a real server process (embedded store, then MongoDB-wire)
 * whose receiver keeps failing is killed with SIGKILL; restarted on the same store, it delivers
 * every pending event, in order, with the same webhook-id.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import type { DeliveryResponse, WebhookResponse } from '../../shared/feed-api.ts'
import { addMember, createGroup, fetchApi, registerUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { spawnServer, type ServerProcess } from '../helpers/process.ts'
import { tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { startReceiver, verifySignature, type Receiver } from './webhook-receiver.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const STORES = [
  { name: 'embedded', env: (): Record<string, string> => ({}) },
  { name: 'mongodb', env: (): Record<string, string> => ({ MONGODB_URL: inject('mongoUrl'), MONGODB_DB: uniqueDbName() }) },
]

describe.each(STORES)('pending deliveries across kill -9 on $name storage', ({ env }) => {
  it('are delivered after the restart, in order, each with its webhook-id', async () => {
    const receiver: Receiver = await startReceiver(500)
    cleanups.push(() => receiver.close())
    const dir = await tempDir('collab-webhook-')
    cleanups.push(() => dir.remove())
    const settings = {
      ...env(), DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, AUTH_RATE_LIMIT_PER_MINUTE: '100000', INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000', LOG_LEVEL: 'warn',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_POLL_MS: '100', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_TIMEOUT_MS: '1000',
    }
    let node: ServerProcess | null = await spawnServer(settings)
    cleanups.push(() => node?.kill('SIGKILL') ?? Promise.resolve())
    const api = fetchApi(node.url)
    const owner = await registerUser(api, 'Owner')
    const group = await createGroup(api, owner)
    const hook = await api<{ webhook: WebhookResponse; secret: string }>('POST', `/groups/${group.id}/webhooks`, { token: owner.token, body: { url: `${receiver.url}/hook` } })
    expect(hook.status).toBe(201)
    const member = await registerUser(api, 'Member')
    await addMember(api, owner, group.id, member, 'viewer')
    for (const role of ['editor', 'viewer', 'editor'] as const) await api('PATCH', `/groups/${group.id}/members/${member.id}`, { token: owner.token, body: { role } })
    await waitFor(() => receiver.received.length >= 2, 10_000, 'failed attempts before the kill')
    const before = await api<{ deliveries: DeliveryResponse[] }>('GET', `/groups/${group.id}/webhooks/${hook.body.webhook.id}/deliveries`, { token: owner.token })
    expect(before.body.deliveries[0]).toMatchObject({ status: 'pending', eventId: `${group.id}.1` })

    await node.kill('SIGKILL')
    node = null
    receiver.fallback = 200
    const attemptsBeforeRestart = receiver.received.length
    node = await spawnServer(settings)
    const ids = (): string[] => receiver.received.slice(attemptsBeforeRestart).map((r) => String(r.headers['webhook-id']))
    await waitFor(() => new Set(ids()).size === 4, 15_000, 'every event delivered after the restart')
    expect(ids()).toEqual([1, 2, 3, 4].map((n) => `${group.id}.${n}`))
    for (const request of receiver.received) expect(verifySignature(hook.body.secret, request)).toBe(true)
    const after = await fetchApi(node.url)<{ deliveries: DeliveryResponse[] }>('GET', `/groups/${group.id}/webhooks/${hook.body.webhook.id}/deliveries`, { token: owner.token })
    expect(after.body.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered'])
    expect(after.body.deliveries.at(-1)!.attempts.at(-1)!.status).toBe(200)
  }, 60_000)
})
