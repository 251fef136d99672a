/**
 * An event recorded on a node wakes the webhook dispatcher for that event's group only: it looks
 * up that group's webhooks (an index lookup), not every active webhook of every group, which a
 * busy node recorded events fast enough to make its main cost on storage (measured on the
 * two-node soak: one full webhook listing per compaction). The full poll still runs every
 * WEBHOOK_POLL_MS however many wakes come (wakes reset the loop's timer), so events recorded
 * elsewhere (another node, here written straight to the store) are still delivered.
 */
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BackgroundFailures } from '../../server/background-loop.ts'
import type { FeedStore, WebhookStore } from '../../server/storage/feed-types.ts'
import { WebhookDispatcher } from '../../server/webhooks/dispatcher.ts'
import { addMember, createGroup, injectApi, registerUser, type Api } from '../helpers/api.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { startReceiver, type Receiver } from './webhook-receiver.ts'

/** Role changes at most while waiting for the poll (each records an event that wakes the dispatcher). */
const MAX_CHANGES = 2_000

let ours: Receiver
let theirs: Receiver
beforeEach(async () => {
  ours = await startReceiver(200)
  theirs = await startReceiver(200)
})
afterEach(async () => {
  await ours.close()
  await theirs.close()
})

async function webhookOf(api: Api, groupId: string, token: string, url: string): Promise<void> {
  expect((await api('POST', `/groups/${groupId}/webhooks`, { token, body: { url } })).status).toBe(201)
}

describe('webhook wakes', () => {
  describe('with a long poll', () => {
    const ctx = useFreshServer(() => ({ webhookAllowedHosts: ['127.0.0.1'], webhookPollMs: 60_000 }))

    it('looks at the recording group\'s webhooks only', async () => {
      const api = injectApi(ctx.server.app)
      const { fx } = ctx
      await webhookOf(api, fx.group.id, fx.token, `${ours.url}/ours`)
      const other = await registerUser(api, 'Olga')
      const group = await createGroup(api, other, 'elsewhere')
      await webhookOf(api, group.id, other.token, `${theirs.url}/theirs`)
      const store = ctx.server.app.storage.webhooks
      const active = vi.spyOn(store, 'active')
      const byGroup = vi.spyOn(store, 'byGroup')

      await addMember(api, fx.owner, fx.group.id, await registerUser(api, 'Friend'), 'viewer')
      await waitFor(() => ours.received.length >= 1, 10_000, 'the member.added delivery, long before the next poll')

      expect(active).not.toHaveBeenCalled()
      expect(byGroup.mock.calls.map(([groupId]) => groupId)).not.toContain(group.id)
      expect(byGroup.mock.calls.map(([groupId]) => groupId)).toContain(fx.group.id)
      expect(theirs.received).toEqual([])
    })
  })

  describe('with a short poll', () => {
    const ctx = useFreshServer(() => ({ webhookAllowedHosts: ['127.0.0.1'], webhookPollMs: 300 }))

    it('still polls every webhook while one group keeps waking it', async () => {
      const api = injectApi(ctx.server.app)
      const { fx } = ctx
      const other = await registerUser(api, 'Olga')
      const group = await createGroup(api, other, 'elsewhere')
      await webhookOf(api, group.id, other.token, `${theirs.url}/theirs`)
      const puppet = await registerUser(api, 'Puppet')
      await addMember(api, fx.owner, fx.group.id, puppet, 'viewer')

      // As another node would: recorded without waking this node.
      await ctx.server.app.storage.feed.append(group.id, [{ key: 'elsewhere-1', type: 'group.renamed', at: Date.now(), actor: other.id, data: { name: 'renamed elsewhere' } }])
      // Wakes every few milliseconds, each resetting the loop's timer: the delivery must come
      // while they go on (2,000 changes take seconds: many polls' worth), not once they stop.
      let changes = 0
      while (theirs.received.length === 0 && changes < MAX_CHANGES) {
        await api('PATCH', `/groups/${fx.group.id}/members/${puppet.id}`, { token: fx.token, body: { role: changes++ % 2 === 0 ? 'editor' : 'viewer' } })
      }
      expect(changes).toBeLessThan(MAX_CHANGES)
      expect(changes).toBeGreaterThan(1)
      expect(theirs.received).toHaveLength(1)
    }, 60_000)
  })
})

describe('a burst of wakes from many groups', () => {
  it('lists every webhook once instead of looking up each group', async () => {
    const store = { active: vi.fn(async () => []), byGroup: vi.fn(async () => []) }
    const dispatcher = new WebhookDispatcher(
      { store: store as unknown as WebhookStore, feed: {} as FeedStore, lease: {} as never, access: {} as never, logger: pino({ level: 'silent' }), failures: new BackgroundFailures() },
      { retry: { baseMs: 100, windowMs: 1_000, disableAfterMs: 10_000 }, concurrency: 1, pollMs: 60_000, retentionMs: 60_000, timeoutMs: 1_000, allowedHosts: [] },
    )
    dispatcher.start()
    try {
      // The first wake's round starts at once; the twenty that follow arrive while it runs.
      for (let i = 0; i < 21; i++) dispatcher.wake(`group${i}`)
      await vi.waitFor(() => expect(store.active).toHaveBeenCalledTimes(1))
      expect(store.byGroup.mock.calls).toEqual([['group0']])
    } finally {
      await dispatcher.stop()
    }
  })
})

describe('wakes that never stop', () => {
  it('still lists every webhook once a poll is due, while one group wakes it during every round', async () => {
    const slowly = async (): Promise<never[]> => {
      await new Promise((resolve) => setTimeout(resolve, 5)) // a store round trip: wakes arrive meanwhile
      return []
    }
    const store = { active: vi.fn(slowly), byGroup: vi.fn(slowly) }
    const dispatcher = new WebhookDispatcher(
      { store: store as unknown as WebhookStore, feed: {} as FeedStore, lease: {} as never, access: {} as never, logger: pino({ level: 'silent' }), failures: new BackgroundFailures() },
      { retry: { baseMs: 100, windowMs: 1_000, disableAfterMs: 10_000 }, concurrency: 1, pollMs: 100, retentionMs: 60_000, timeoutMs: 1_000, allowedHosts: [] },
    )
    dispatcher.start()
    const waking = setInterval(() => dispatcher.wake('busy'), 1)
    try {
      await vi.waitFor(() => expect(store.active).toHaveBeenCalled(), { timeout: 10_000, interval: 20 })
      expect(store.byGroup).toHaveBeenCalled() // the wakes were being served
    } finally {
      clearInterval(waking)
      await dispatcher.stop()
    }
  })
})
