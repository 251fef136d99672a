/**
 * The compaction lease on Redis: `SET NX PX` with a token, renewed while the compaction runs and
 * released only by its holder. If the holder dies the lease lapses after its TTL and another
 * node compacts the room. A renewal that fails (Redis away) or finds the lease gone is logged
 * and counted; the compaction goes on, which is safe: a snapshot never replaces a newer one.
 */
import { newId } from '../../shared/ids.ts'
import type { BackgroundFailures } from '../background-loop.ts'
import type { CompactionLease } from '../collab/compaction/compaction-lease.ts'
import type { Logger } from '../logger.ts'
import { RedisScript } from '../log/redis-script.ts'
import type { KeyedCommands, RedisBackend } from './redis-backend.ts'
import type { RedisKeyspace } from './redis-keyspace.ts'

const RENEW = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
const RELEASE = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

export class RedisLease implements CompactionLease {
  private readonly cmd: KeyedCommands
  private readonly clients: RedisBackend
  private readonly keys: RedisKeyspace
  private readonly ttlMs: number
  private readonly logger: Logger
  private readonly failures: BackgroundFailures

  constructor(clients: RedisBackend, options: { prefix: string; ttlMs: number; logger: Logger; failures: BackgroundFailures }) {
    this.clients = clients
    this.cmd = clients.keyed
    this.keys = clients.keyspace(options.prefix)
    this.ttlMs = options.ttlMs
    this.logger = options.logger
    this.failures = options.failures
  }

  async withLease<T>(room: string, task: () => Promise<T>): Promise<T | undefined> {
    const key = this.keys.roomKey('lease', room)
    const token = newId()
    const taken = await this.clients.timed(this.cmd.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } }), 'lease')
    if (taken !== 'OK') return undefined
    const renewal = setInterval(() => void this.renew(room, key, token), this.ttlMs / 3)
    renewal.unref()
    try {
      return await task()
    } finally {
      clearInterval(renewal)
      // Unreleased, it lapses after its TTL.
      await this.clients.timed(RELEASE.run(this.cmd, { keys: [key], arguments: [token] }), 'lease release').catch(() => this.failures.record('lease-release'))
    }
  }

  private async renew(room: string, key: string, token: string): Promise<void> {
    try {
      const renewed = await this.clients.timed(RENEW.run(this.cmd, { keys: [key], arguments: [token, String(this.ttlMs)] }), 'lease renewal')
      if (renewed === 0) this.logger.warn({ room }, 'compaction lease lapsed while compacting; another node may compact too')
    } catch (error) {
      this.failures.record('lease-renewal')
      this.logger.warn({ err: error, room }, 'could not renew a compaction lease')
    }
  }
}
