/**
 * Webhooks in MongoDB: `webhooks` `{_id: id, groupId, …}`; `deliveries` `{_id: "<webhook>.<seq>",
 * webhookId, seq, status, …}` indexed by `{webhookId, seq}`. State changes are `$set`s of single
 * fields (per-document atomic everywhere); the cursor moves forward by `$max`.
 */
import type { Collection, Db } from 'mongodb'
import type { DeliveryRecord, WebhookRecord, WebhookState, WebhookStore } from '../feed-types.ts'

type WebhookDoc = Omit<WebhookRecord, 'id'> & { _id: string }
type DeliveryDoc = Omit<DeliveryRecord, 'id'> & { _id: string }

export class MongoWebhooks implements WebhookStore {
  private readonly webhooks: Collection<WebhookDoc>
  private readonly deliveryDocs: Collection<DeliveryDoc>

  constructor(db: Db) {
    this.webhooks = db.collection<WebhookDoc>('webhooks')
    this.deliveryDocs = db.collection<DeliveryDoc>('deliveries')
  }

  static async ensureIndexes(db: Db): Promise<void> {
    await db.collection('webhooks').createIndex({ groupId: 1 })
    await db.collection('deliveries').createIndex({ webhookId: 1, seq: 1 })
  }

  async create(record: WebhookRecord): Promise<void> {
    const { id, ...rest } = record
    await this.webhooks.insertOne({ _id: id, ...rest })
  }

  async get(groupId: string, id: string): Promise<WebhookRecord | null> {
    return toWebhook(await this.webhooks.findOne({ _id: id, groupId }))
  }

  async byGroup(groupId: string): Promise<WebhookRecord[]> {
    return (await this.webhooks.find({ groupId }).sort({ createdAt: 1 }).toArray()).map((doc) => toWebhook(doc)!)
  }

  async active(): Promise<WebhookRecord[]> {
    return (await this.webhooks.find({ disabled: null }).toArray()).map((doc) => toWebhook(doc)!)
  }

  async setState(groupId: string, id: string, state: WebhookState): Promise<void> {
    const { cursor, ...rest } = state
    const update = { ...(Object.keys(rest).length > 0 && { $set: rest }), ...(cursor !== undefined && { $max: { cursor } }) }
    if (Object.keys(update).length > 0) await this.webhooks.updateOne({ _id: id, groupId }, update)
  }

  async delete(groupId: string, id: string): Promise<boolean> {
    const { deletedCount } = await this.webhooks.deleteOne({ _id: id, groupId })
    if (deletedCount === 0) return false // another group's webhook (or none): its deliveries are not this group's to delete
    await this.deliveryDocs.deleteMany({ webhookId: id })
    return true
  }

  async deleteGroup(groupId: string): Promise<void> {
    for (const webhook of await this.byGroup(groupId)) await this.delete(groupId, webhook.id)
  }

  async putDelivery(delivery: DeliveryRecord): Promise<void> {
    const { id, ...rest } = delivery
    await this.deliveryDocs.replaceOne({ _id: id }, rest, { upsert: true })
  }

  async getDelivery(webhookId: string, id: string): Promise<DeliveryRecord | null> {
    return toDelivery(await this.deliveryDocs.findOne({ _id: id, webhookId }))
  }

  async deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return []
    return (await this.deliveryDocs.find({ webhookId }).sort({ seq: -1 }).limit(limit).toArray()).map((doc) => toDelivery(doc)!)
  }

  async pending(webhookId: string): Promise<DeliveryRecord[]> {
    return (await this.deliveryDocs.find({ webhookId, status: 'pending' }).sort({ seq: 1 }).toArray()).map((doc) => toDelivery(doc)!)
  }

  async pruneDeliveries(webhookId: string, before: number): Promise<void> {
    await this.deliveryDocs.deleteMany({ webhookId, status: { $ne: 'pending' }, createdAt: { $lt: before } })
  }
}

function toWebhook(doc: WebhookDoc | null): WebhookRecord | null {
  if (!doc) return null
  const { _id, ...rest } = doc
  return { id: _id, ...rest }
}

function toDelivery(doc: DeliveryDoc | null): DeliveryRecord | null {
  if (!doc) return null
  const { _id, ...rest } = doc
  return { id: _id, ...rest }
}
