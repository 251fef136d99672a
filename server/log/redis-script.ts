/**
 * A Lua script run by its SHA1 (EVALSHA): the script's text crosses the network only when Redis
 * does not have it cached (NOSCRIPT: first use, a restarted or flushed Redis), not with every
 * append.
 */
import { createHash } from 'node:crypto'
import type { RedisClient } from '../cluster/redis-clients.ts'

type EvalOptions = NonNullable<Parameters<RedisClient['eval']>[1]>

export class RedisScript {
  private readonly source: string
  private readonly sha: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run(client: Pick<RedisClient, 'evalSha' | 'eval'>, options: EvalOptions): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, options)
    } catch (error) {
      if (!isNoScript(error)) throw error
      return await client.eval(this.source, options)
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}
