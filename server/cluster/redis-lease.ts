/**
 * The compaction lease on Redis: `SET NX PX` with a token, renewed while the compaction runs and
 * released only by its holder. If the holder dies the lease lapses after its TTL and another
 * node compacts the room.
 */
import { newId } from '../../shared/ids.ts'
import type { CompactionLease } from '../collab/compaction-lease.ts'
import type { RedisClient } from './redis-clients.ts'

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

export class RedisLease implements CompactionLease {
  private readonly cmd: RedisClient
  private readonly prefix: string
  private readonly ttlMs: number

  constructor(cmd: RedisClient, options: { prefix: string; ttlMs: number }) {
    this.cmd = cmd
    this.prefix = options.prefix
    this.ttlMs = options.ttlMs
  }

  async withLease<T>(room: string, task: () => Promise<T>): Promise<T | undefined> {
    const key = `${this.prefix}lease:${room}`
    const token = newId()
    const taken = await this.cmd.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } })
    if (taken !== 'OK') return undefined
    const renewal = setInterval(() => {
      this.cmd.eval(RENEW, { keys: [key], arguments: [token, String(this.ttlMs)] }).catch(() => undefined)
    }, this.ttlMs / 3)
    renewal.unref()
    try {
      return await task()
    } finally {
      clearInterval(renewal)
      await this.cmd.eval(RELEASE, { keys: [key], arguments: [token] }).catch(() => undefined)
    }
  }
}
