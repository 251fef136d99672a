/** One conformance suite for the change feed and webhook stores, run against the embedded store and MongoDB. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newId } from '../../shared/ids.ts'
import type { DeliveryRecord, FeedItem, NewEvent, WebhookRecord } from '../../server/storage/feed-types.ts'
import type { StorageFixture } from '../storage/snapshot-conformance.ts'

function event(key: string, at = 1_700_000_000_000, extra: Partial<NewEvent> = {}): NewEvent {
  return { key, type: 'chat.message.created', at, actor: 'u1', data: { message: { id: key, text: 'héllo \u0000 "quoted"' } }, ...extra }
}

function webhook(groupId: string, extra: Partial<WebhookRecord> = {}): WebhookRecord {
  return { id: newId(), groupId, url: 'https://example.com/hook', events: null, secret: 'whsec_AAAA', createdAt: 1_700_000_000_000, createdBy: 'u1', cursor: 0, failingSince: null, disabled: null, ...extra }
}

function delivery(hook: WebhookRecord, seq: number, extra: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return { id: `${hook.id}.${seq}`, webhookId: hook.id, groupId: hook.groupId, seq, eventId: `${hook.groupId}.${seq}`, eventType: 'member.added', status: 'pending', attempts: [], nextAttemptAt: 5, createdAt: 1_700_000_000_000 + seq, firstAttemptAt: null, ...extra }
}

export function describeFeedConformance(name: string, open: () => Promise<StorageFixture>): void {
  describe(`FeedStore conformance: ${name}`, () => {
    let fixture: StorageFixture
    beforeEach(async () => {
      fixture = await open()
    })
    afterEach(async () => {
      await fixture.cleanup()
    })

    it('numbers events 1, 2, 3… per group and gives them back in order, paged', async () => {
      const { feed } = fixture.storage
      const [a, b] = [newId(), newId()]
      expect(await feed.lastSeq(a)).toBe(0)
      const first = await feed.append(a, [event('k1'), event('k2')])
      expect(first.map((e) => e.seq)).toEqual([1, 2])
      await feed.append(b, [event('k1')])
      await feed.append(a, [event('k3', 1_700_000_000_001, { actor: null, type: 'canvas.changed' })])
      expect(await feed.lastSeq(a)).toBe(3)
      const all = await feed.list(a, { after: 0, limit: 10, since: 0 })
      expect(all).toEqual([
        { groupId: a, seq: 1, type: 'chat.message.created', at: 1_700_000_000_000, actor: 'u1', data: { message: { id: 'k1', text: 'héllo \u0000 "quoted"' } } },
        { groupId: a, seq: 2, type: 'chat.message.created', at: 1_700_000_000_000, actor: 'u1', data: { message: { id: 'k2', text: 'héllo \u0000 "quoted"' } } },
        { groupId: a, seq: 3, type: 'canvas.changed', at: 1_700_000_000_001, actor: null, data: { message: { id: 'k3', text: 'héllo \u0000 "quoted"' } } },
      ])
      expect((await feed.list(a, { after: 1, limit: 1, since: 0 })).map((e) => e.seq)).toEqual([2])
      expect(await feed.list(a, { after: 3, limit: 10, since: 0 })).toEqual([])
      expect(await feed.list(a, { after: 0, limit: 0, since: 0 })).toEqual([])
      expect((await feed.list(b, { after: 0, limit: 10, since: 0 })).map((e) => e.seq)).toEqual([1])
    })

    it('records a key once: appending it again (a retried compaction) is a no-op', async () => {
      const { feed } = fixture.storage
      const group = newId()
      await feed.append(group, [event('once')])
      expect(await feed.recordedKeys(group, ['once', 'twice'])).toEqual(new Set(['once']))
      expect(await feed.recordedKeys(newId(), ['once'])).toEqual(new Set())
      expect(await feed.recordedKeys(group, [])).toEqual(new Set())
      expect(await feed.append(group, [event('once'), event('twice'), event('twice')])).toMatchObject([{ seq: 2, data: { message: { id: 'twice' } } }])
      expect((await feed.list(group, { after: 0, limit: 10, since: 0 })).length).toBe(2)
    })

    it('gives every concurrent append its own seq, with none skipped', async () => {
      const { feed } = fixture.storage
      const group = newId()
      await Promise.all(Array.from({ length: 12 }, (_, i) => feed.append(group, [event(`c${i}`)])))
      const seqs = (await feed.list(group, { after: 0, limit: 100, since: 0 })).map((e) => e.seq)
      expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    })

    it('prunes old events but keeps the newest, so numbers never repeat; `since` hides the kept one', async () => {
      const { feed } = fixture.storage
      const group = newId()
      await feed.append(group, [event('a', 100), event('b', 200), event('c', 300)])
      await feed.prune(group, 1_000)
      expect((await feed.list(group, { after: 0, limit: 10, since: 0 })).map((e) => e.seq)).toEqual([3])
      expect(await feed.recordedKeys(group, ['a', 'c'])).toEqual(new Set(['c']))
      expect(await feed.list(group, { after: 0, limit: 10, since: 1_000 })).toEqual([])
      expect((await feed.append(group, [event('d', 2_000)]))[0]!.seq).toBe(4)
      await feed.deleteGroup(group)
      expect(await feed.list(group, { after: 0, limit: 10, since: 0 })).toEqual([])
    })

    it('finds index entries by clock range and by the range holding a clock', async () => {
      const { feed } = fixture.storage
      const room = `${newId()}/canvas`
      const stroke: FeedItem = { kind: 'stroke', client: 7, start: 10, end: 11, id: 's1', author: 'u1' }
      const points: FeedItem = { kind: 'pointrange', client: 7, start: 12, end: 40, id: 's1', author: 'u1' }
      const other: FeedItem = { kind: 'stroke', client: 8, start: 10, end: 11, id: 's2', author: 'u2' }
      await feed.putItems(room, [stroke, points, other])
      expect(await feed.itemsIn(room, 'stroke', 7, 0, 100)).toEqual([stroke])
      expect(await feed.itemsIn(room, 'stroke', 7, 11, 100)).toEqual([])
      expect(await feed.itemAt(room, 'pointrange', 7, 39)).toEqual(points)
      expect(await feed.itemAt(room, 'pointrange', 7, 40)).toBeNull()
      expect(await feed.itemAt(room, 'pointrange', 7, 11)).toBeNull()
      await feed.putItems(room, [{ ...points, end: 50 }])
      expect(await feed.itemAt(room, 'pointrange', 7, 45)).toEqual({ ...points, end: 50 })
      await feed.dropItems(room, [stroke])
      expect(await feed.itemsIn(room, 'stroke', 7, 0, 100)).toEqual([])
      await feed.deleteRoomItems(room)
      expect(await feed.itemsIn(room, 'stroke', 8, 0, 100)).toEqual([])
    })
  })

  describe(`WebhookStore conformance: ${name}`, () => {
    let fixture: StorageFixture
    beforeEach(async () => {
      fixture = await open()
    })
    afterEach(async () => {
      await fixture.cleanup()
    })

    it('keeps webhooks per group; lists the active ones; moves the cursor only forward', async () => {
      const { webhooks } = fixture.storage
      const group = newId()
      const hook = webhook(group, { events: ['member.added'] })
      await webhooks.create(hook)
      await webhooks.create(webhook(newId()))
      expect(await webhooks.get(group, hook.id)).toEqual(hook)
      expect(await webhooks.get(newId(), hook.id)).toBeNull()
      expect(await webhooks.byGroup(group)).toEqual([hook])
      await webhooks.setState(group, hook.id, { cursor: 5, failingSince: 9 })
      await webhooks.setState(group, hook.id, { cursor: 3, nudgedAt: 11 })
      expect(await webhooks.get(group, hook.id)).toEqual({ ...hook, cursor: 5, failingSince: 9, nudgedAt: 11 })
      expect((await webhooks.active()).some((w) => w.id === hook.id)).toBe(true)
      await webhooks.setState(group, hook.id, { disabled: { at: 10, reason: 'failing for a day' } })
      expect((await webhooks.active()).some((w) => w.id === hook.id)).toBe(false)
      expect(await webhooks.delete(group, hook.id)).toBe(true)
      expect(await webhooks.delete(group, hook.id)).toBe(false)
      expect(await webhooks.byGroup(group)).toEqual([])
    })

    it('deletes a webhook only in its own group: another group naming its id deletes nothing, deliveries included', async () => {
      const { webhooks } = fixture.storage
      const hook = webhook(newId())
      await webhooks.create(hook)
      await webhooks.putDelivery(delivery(hook, 1))
      expect(await webhooks.delete(newId(), hook.id)).toBe(false)
      expect(await webhooks.get(hook.groupId, hook.id)).toEqual(hook)
      expect((await webhooks.deliveries(hook.id, 10)).map((d) => d.seq)).toEqual([1])
      expect((await webhooks.pending(hook.id)).map((d) => d.seq)).toEqual([1])
    })

    it('keeps deliveries: pending in event order, newest first in the listing, pruned when done', async () => {
      const { webhooks } = fixture.storage
      const hook = webhook(newId())
      await webhooks.create(hook)
      for (const seq of [3, 1, 2]) await webhooks.putDelivery(delivery(hook, seq))
      await webhooks.putDelivery(delivery(hook, 1, { status: 'delivered', attempts: [{ at: 1, status: 200, error: null, ms: 3 }], nextAttemptAt: null }))
      expect((await webhooks.pending(hook.id)).map((d) => d.seq)).toEqual([2, 3])
      expect((await webhooks.deliveries(hook.id, 2)).map((d) => d.seq)).toEqual([3, 2])
      expect(await webhooks.getDelivery(hook.id, `${hook.id}.1`)).toEqual(delivery(hook, 1, { status: 'delivered', attempts: [{ at: 1, status: 200, error: null, ms: 3 }], nextAttemptAt: null }))
      expect(await webhooks.getDelivery(hook.id, `${hook.id}.9`)).toBeNull()
      expect(await webhooks.getDelivery(hook.id, 'nonsense')).toBeNull()
      await webhooks.pruneDeliveries(hook.id, Number.MAX_SAFE_INTEGER)
      expect((await webhooks.deliveries(hook.id, 10)).map((d) => d.seq)).toEqual([3, 2])
      await webhooks.deleteGroup(hook.groupId)
      expect(await webhooks.deliveries(hook.id, 10)).toEqual([])
    })
  })
}
