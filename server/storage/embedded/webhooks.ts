/**
 * Webhooks in LevelDB: `webhooks`: `<group>!<id>` → webhook; `deliveries`:
 * `<webhook>!<seq>` → delivery (its id is `<webhook>.<seq>`), so a webhook's deliveries are one
 * range scan in event order. One process owns the store: a per-webhook mutex orders state changes.
 */
import type { DeliveryRecord, WebhookRecord, WebhookState, WebhookStore } from '../feed-types.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import { roomPrefix, sortableTime } from './history-keys.ts'
import { jsonLevel, type JsonLevel } from './json-level.ts'
import { prefixRange, type LevelDb } from './level.ts'

export class EmbeddedWebhooks implements WebhookStore {
  private readonly webhooks: JsonLevel<WebhookRecord>
  private readonly deliveryLevel: JsonLevel<DeliveryRecord>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.webhooks = jsonLevel(db, 'webhooks')
    this.deliveryLevel = jsonLevel(db, 'deliveries')
  }

  async create(record: WebhookRecord): Promise<void> {
    await this.webhooks.put(webhookKey(record.groupId, record.id), record)
  }

  async get(groupId: string, id: string): Promise<WebhookRecord | null> {
    return (await this.webhooks.get(webhookKey(groupId, id))) ?? null
  }

  byGroup(groupId: string): Promise<WebhookRecord[]> {
    return this.webhooks.values(prefixRange(roomPrefix(groupId))).all()
  }

  async active(): Promise<WebhookRecord[]> {
    const all = await this.webhooks.values().all()
    return all.filter((w) => w.disabled === null)
  }

  setState(groupId: string, id: string, state: WebhookState): Promise<void> {
    return this.mutex.run(id, async () => {
      const current = await this.get(groupId, id)
      if (!current) return
      const cursor = Math.max(current.cursor, state.cursor ?? current.cursor)
      await this.webhooks.put(webhookKey(groupId, id), { ...current, ...state, cursor })
    })
  }

  delete(groupId: string, id: string): Promise<boolean> {
    return this.mutex.run(id, async () => {
      // Deliveries are keyed by webhook alone: only a webhook of this group may take them along.
      if ((await this.get(groupId, id)) === null) return false
      await this.webhooks.del(webhookKey(groupId, id))
      await this.deliveryLevel.clear(prefixRange(roomPrefix(id)))
      return true
    })
  }

  async deleteGroup(groupId: string): Promise<void> {
    for (const webhook of await this.byGroup(groupId)) await this.delete(groupId, webhook.id)
  }

  async putDelivery(delivery: DeliveryRecord): Promise<void> {
    await this.deliveryLevel.put(deliveryKey(delivery.webhookId, delivery.seq), delivery)
  }

  async getDelivery(webhookId: string, id: string): Promise<DeliveryRecord | null> {
    const seq = seqOf(webhookId, id)
    if (seq === null) return null
    return (await this.deliveryLevel.get(deliveryKey(webhookId, seq))) ?? null
  }

  deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    return this.deliveryLevel.values({ ...prefixRange(roomPrefix(webhookId)), reverse: true, limit }).all()
  }

  async pending(webhookId: string): Promise<DeliveryRecord[]> {
    const all = await this.deliveryLevel.values(prefixRange(roomPrefix(webhookId))).all()
    return all.filter((d) => d.status === 'pending')
  }

  async pruneDeliveries(webhookId: string, before: number): Promise<void> {
    const old: string[] = []
    for await (const [key, delivery] of this.deliveryLevel.iterator(prefixRange(roomPrefix(webhookId)))) {
      if (delivery.status !== 'pending' && delivery.createdAt < before) old.push(key)
    }
    if (old.length > 0) await this.deliveryLevel.batch(old.map((key) => ({ type: 'del' as const, key })))
  }
}

function webhookKey(groupId: string, id: string): string {
  return `${roomPrefix(groupId)}${id}`
}

function deliveryKey(webhookId: string, seq: number): string {
  return `${roomPrefix(webhookId)}${sortableTime(seq)}`
}

/** A delivery id is `<webhook>.<seq>`; anything else names no delivery. */
export function seqOf(webhookId: string, id: string): number | null {
  if (!id.startsWith(`${webhookId}.`)) return null
  const seq = Number(id.slice(webhookId.length + 1))
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null
}
