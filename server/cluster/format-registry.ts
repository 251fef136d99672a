/**
 * The registry of live nodes and the formats each reads, in Redis. Each node writes its entry
 * (`<prefix>{registry}node:<id>`, JSON `{generation, reads}`) with a TTL and renews it on every
 * heartbeat, so a node that died drops out by itself; the set `<prefix>{registry}nodes` lists the
 * ids to look up (members whose entry expired are removed by whoever lists them). Every key shares
 * the `{registry}` hash tag, so on a Redis Cluster they live in one slot.
 *
 * A node that joins or leaves says so on the node-wide channel `<prefix>registry`, so the others
 * list the registry at once instead of at their next heartbeat.
 *
 * Entries come from other nodes and are treated as untrusted: a malformed one is skipped.
 */
import { generation, parseVersions, type Versions } from './wire-format.ts'

/** The keyed commands the registry needs (a subset of what the Redis backend offers in both modes). */
export interface RegistryCommands {
  set(key: string, value: string, options: { PX: number }): Promise<unknown>
  get(key: string): Promise<string | null>
  del(key: string): Promise<number>
  sAdd(key: string, member: string): Promise<number>
  sRem(key: string, member: string): Promise<number>
  sMembers(key: string): Promise<string[]>
}

/** Node-wide pub/sub (every node hears it). */
export interface RegistryChannels {
  publish(channel: string, message: string): Promise<number>
  subscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
  unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void>
}

export interface RegistryEntry {
  node: string
  generation: number
  reads: Versions
}

/** Ids are ours (shared/ids.ts: url-safe base64) or a test's; anything else is not looked up. */
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/
/** More members than any deployment runs: past this the set is junk and is not read whole. */
const MAX_NODES = 1_000

export class FormatRegistry {
  private readonly redis: RegistryCommands
  private readonly channels: RegistryChannels
  private readonly prefix: string
  private readonly ttlMs: number
  /** Bounds each command (a silent Redis must not stall the heartbeat forever). */
  private readonly timed: <T>(command: Promise<T>) => Promise<T>

  constructor(options: { redis: RegistryCommands; channels: RegistryChannels; prefix: string; ttlMs: number; timed?: <T>(command: Promise<T>) => Promise<T> }) {
    this.redis = options.redis
    this.channels = options.channels
    this.prefix = options.prefix
    this.ttlMs = options.ttlMs
    this.timed = options.timed ?? ((command) => command)
  }

  /** Writes or renews `node`'s entry; `joining`: tell the others to look now. */
  async announce(node: string, generationNumber: number, joining = false): Promise<void> {
    const { reads } = generation(generationNumber)
    await this.timed(this.redis.set(this.entryKey(node), JSON.stringify({ generation: generationNumber, reads }), { PX: this.ttlMs }))
    await this.timed(this.redis.sAdd(this.indexKey(), node))
    if (joining) await this.timed(this.channels.publish(this.channel(), node))
  }

  /** Removes `node`'s entry (a node leaving cleanly), and tells the others. */
  async withdraw(node: string): Promise<void> {
    await this.timed(this.redis.del(this.entryKey(node)))
    await this.timed(this.redis.sRem(this.indexKey(), node))
    await this.timed(this.channels.publish(this.channel(), node))
  }

  /** The live entries (expired ones are taken out of the index on the way). */
  async list(): Promise<RegistryEntry[]> {
    const members = (await this.timed(this.redis.sMembers(this.indexKey()))).slice(0, MAX_NODES)
    const values = await Promise.all(members.map((node) => NODE_ID.test(node) ? this.timed(this.redis.get(this.entryKey(node))) : Promise.resolve(null)))
    const entries: RegistryEntry[] = []
    const expired: string[] = []
    members.forEach((node, i) => {
      const value = values[i] ?? null
      if (value === null) expired.push(node)
      const entry = value === null ? null : parseEntry(node, value)
      if (entry) entries.push(entry)
    })
    await Promise.all(expired.map((node) => this.timed(this.redis.sRem(this.indexKey(), node))))
    return entries
  }

  /** Calls `listener` whenever a node joins or leaves; returns the function that stops it. */
  async watch(listener: () => void): Promise<() => Promise<void>> {
    const onMessage = (): void => listener()
    await this.channels.subscribe(this.channel(), onMessage)
    return () => this.channels.unsubscribe(this.channel(), onMessage)
  }

  private entryKey(node: string): string {
    return `${this.prefix}{registry}node:${node}`
  }

  private indexKey(): string {
    return `${this.prefix}{registry}nodes`
  }

  private channel(): string {
    return `${this.prefix}registry`
  }
}

function parseEntry(node: string, value: string): RegistryEntry | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const { generation: number, reads } = parsed as { generation?: unknown; reads?: unknown }
  const versions = parseVersions(reads)
  if (!Number.isInteger(number) || (number as number) < 1 || !versions) return null
  return { node, generation: number as number, reads: versions }
}
