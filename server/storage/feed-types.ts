/**
 * What the change feed and webhooks keep (issue 22), behind the storage interface: both stores
 * implement it and pass one conformance suite (test/feed/feed-conformance.ts).
 */

/** An event as the feed stores it. `seq` increases by one per event within a group. */
export interface StoredEvent {
  groupId: string
  seq: number
  type: string
  /** When the change was made (ms since the epoch). */
  at: number
  /** Who made it (a user id), or null when several users' changes are coalesced or nobody did. */
  actor: string | null
  data: Record<string, unknown>
}

/** An event to append. `key` names the change it records: appending a key the group already has is a no-op. */
export interface NewEvent extends Omit<StoredEvent, 'groupId' | 'seq'> {
  key: string
}

/**
 * An entry of a room's item index: which message or stroke owns a run of Yjs struct clocks
 * (`[start, end)` under `client`). Change detection reads it to name what a deletion removed
 * and which stroke a point was appended to, after the log that created them is trimmed.
 */
export interface FeedItem {
  kind: 'message' | 'stroke' | 'points' | 'pointrange'
  client: number
  start: number
  end: number
  /** The message's or stroke's id. */
  id: string
  author: string
}

export interface FeedStore {
  /** Appends in order with the next sequence numbers; events whose key was recorded before are skipped. Returns those appended. */
  append(groupId: string, events: readonly NewEvent[]): Promise<StoredEvent[]>
  /** Events with seq > after and at >= since, oldest first, at most `limit`. */
  list(groupId: string, options: { after: number; limit: number; since: number }): Promise<StoredEvent[]>
  /** Which of these keys the group has recorded events under (pruned events are forgotten). */
  recordedKeys(groupId: string, keys: readonly string[]): Promise<Set<string>>
  /** The group's newest sequence number (0 before any event). */
  lastSeq(groupId: string): Promise<number>
  /** Removes events older than `before`, except the group's newest (so sequence numbers never repeat). */
  prune(groupId: string, before: number): Promise<void>
  deleteGroup(groupId: string): Promise<void>
  /** Stores item index entries (an entry with the same kind, client and start is replaced). */
  putItems(room: string, items: readonly FeedItem[]): Promise<void>
  /** Entries of `kind` under `client` starting in [from, to). */
  itemsIn(room: string, kind: FeedItem['kind'], client: number, from: number, to: number): Promise<FeedItem[]>
  /** The entry of `kind` under `client` whose range holds `clock`, or null. */
  itemAt(room: string, kind: FeedItem['kind'], client: number, clock: number): Promise<FeedItem | null>
  dropItems(room: string, items: readonly FeedItem[]): Promise<void>
  deleteRoomItems(room: string): Promise<void>
}

export interface WebhookRecord {
  id: string
  groupId: string
  url: string
  /** Event types it receives; null = all. */
  events: string[] | null
  /** `whsec_` + base64 of the key. */
  secret: string
  createdAt: number
  createdBy: string
  /** The seq of the newest event a delivery was made for. */
  cursor: number
  /** Since when its deliveries have failed without a success in between; null while healthy. */
  failingSince: number | null
  disabled: { at: number; reason: string } | null
  /** When a delivery was last retried by hand (tells every node's dispatcher to look again). */
  nudgedAt?: number
}

export interface AttemptRecord {
  at: number
  /** HTTP status, or null when there was no answer. */
  status: number | null
  error: string | null
  ms: number
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface DeliveryRecord {
  id: string
  webhookId: string
  groupId: string
  seq: number
  eventId: string
  eventType: string
  status: DeliveryStatus
  /** The latest attempts, oldest first (bounded). */
  attempts: AttemptRecord[]
  /** When a pending delivery is tried next. */
  nextAttemptAt: number | null
  createdAt: number
  /** When its current run of retries started (a manual retry starts a new run). */
  firstAttemptAt: number | null
}

export type WebhookState = Partial<Pick<WebhookRecord, 'cursor' | 'failingSince' | 'disabled' | 'nudgedAt'>>

export interface WebhookStore {
  create(record: WebhookRecord): Promise<void>
  get(groupId: string, id: string): Promise<WebhookRecord | null>
  byGroup(groupId: string): Promise<WebhookRecord[]>
  /** Every webhook not disabled, of every group (the dispatcher's work list). */
  active(): Promise<WebhookRecord[]>
  /** Changes these fields only (a cursor moves only forward). */
  setState(groupId: string, id: string, state: WebhookState): Promise<void>
  /** Removes the webhook and its deliveries; returns whether it existed. */
  delete(groupId: string, id: string): Promise<boolean>
  deleteGroup(groupId: string): Promise<void>
  /** Inserts or replaces a delivery. */
  putDelivery(delivery: DeliveryRecord): Promise<void>
  getDelivery(webhookId: string, id: string): Promise<DeliveryRecord | null>
  /** A webhook's deliveries, newest event first, at most `limit`. */
  deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>
  /** Its pending deliveries, oldest event first. */
  pending(webhookId: string): Promise<DeliveryRecord[]>
  /** Removes its deliveries made before `before` that are no longer pending. */
  pruneDeliveries(webhookId: string, before: number): Promise<void>
}
