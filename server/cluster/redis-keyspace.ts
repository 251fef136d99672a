/**
 * Where each Redis key and room channel lives.
 *
 * On one Redis the names are plain (`collab:log:<room>`), as every release before cluster mode
 * wrote them. On a Redis Cluster every key of a room (its stream, size hash, trim threshold,
 * lease) and its presence channel share a hash tag, so a script touching them stays in one slot.
 * The tag is not the room itself but the room's **bucket**: rooms are spread over a fixed number
 * of buckets, each pinned to one slot, because a blocking XREAD can only wait on streams of one
 * slot. A node then needs one blocking connection per bucket it follows, never one per room, and
 * per-bucket sets (rooms with entries, the epoch) stay beside their streams. The buckets' tags
 * are chosen so their slots are evenly spaced over 0..16383: a cluster whose masters hold equal
 * slot ranges (what `redis-cli --cluster create` makes) gets an equal share of the buckets.
 */

export const CLUSTER_SLOTS = 16_384

export interface RedisKeyspace {
  /** How many buckets rooms are spread over (1 on a single Redis). */
  readonly buckets: number
  bucketOf(room: string): number
  /** A key of `room` (kind: log, size, trimmed, lease…). */
  roomKey(kind: string, room: string): string
  /** A per-room channel (sharded on a cluster, so it stays on its room's master). */
  roomChannel(kind: string, room: string): string
  /** A key of a whole bucket (kind: rooms, epoch…). */
  bucketKey(kind: string, bucket: number): string
  /** The slot a bucket's keys hash to (only meaningful on a cluster). */
  slotOf(bucket: number): number
}

/** The single-Redis names, unchanged from before cluster mode. */
export function plainKeyspace(prefix: string): RedisKeyspace {
  return {
    buckets: 1,
    bucketOf: () => 0,
    roomKey: (kind, room) => `${prefix}${kind}:${room}`,
    roomChannel: (kind, room) => `${prefix}${kind}:${room}`,
    bucketKey: (kind) => `${prefix}${kind}`,
    slotOf: () => 0,
  }
}

/** Cluster names: `<prefix>{<bucket tag>}<kind>:<room>`. */
export function bucketedKeyspace(prefix: string, buckets: number): RedisKeyspace {
  if (prefix.includes('{') || prefix.includes('}')) throw new Error('REDIS_PREFIX must not contain { or } on a Redis Cluster (hash tags are ours)')
  const tags = Array.from({ length: buckets }, (_, bucket) => bucketTag(bucket, buckets))
  const tagOf = (bucket: number): string => tags[bucket] as string
  return {
    buckets,
    bucketOf: (room) => keySlot(room) % buckets,
    roomKey: (kind, room) => `${prefix}{${tagOf(keySlot(room) % buckets)}}${kind}:${room}`,
    roomChannel: (kind, room) => `${prefix}{${tagOf(keySlot(room) % buckets)}}${kind}:${room}`,
    bucketKey: (kind, bucket) => `${prefix}{${tagOf(bucket)}}${kind}`,
    slotOf: (bucket) => keySlot(`{${tagOf(bucket)}}`),
  }
}

/** The first tag `b<bucket>.<n>` whose slot falls in the bucket's share of the slots. */
function bucketTag(bucket: number, buckets: number): string {
  const from = Math.floor((bucket * CLUSTER_SLOTS) / buckets)
  const to = Math.floor(((bucket + 1) * CLUSTER_SLOTS) / buckets)
  for (let n = 0; ; n++) {
    const tag = `b${bucket}.${n}`
    const slot = crc16(tag) % CLUSTER_SLOTS
    if (slot >= from && slot < to) return tag
  }
}

/** Redis Cluster's slot of a key: CRC16 of its hash tag (the first non-empty `{…}`), else of the key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % CLUSTER_SLOTS
  }
  return crc16(key) % CLUSTER_SLOTS
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[byte] = crc
  }
  return table
})()

/** CRC16-CCITT (XMODEM), the one Redis Cluster hashes keys with, over the key's UTF-8 bytes. */
export function crc16(text: string): number {
  let crc = 0
  for (const byte of Buffer.from(text, 'utf8')) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number)
  return crc
}
