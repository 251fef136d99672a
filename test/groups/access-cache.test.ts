import { describe, expect, it } from 'vitest'
import { AccessCache, type Access } from '../../server/groups/access-cache.ts'
import { sleep } from '../helpers/wait.ts'

const group = { id: 'g1', name: 'G', description: '', ownerId: 'o', createdAt: 0 }

/** A loader over a table we can change, counting its reads (the cache's only job is to avoid them). */
function table(): { roles: Map<string, Access['role']>; reads: number; load: (g: string, u: string) => Promise<Access | null> } {
  const state = {
    roles: new Map<string, Access['role']>(),
    reads: 0,
    load: async (groupId: string, userId: string): Promise<Access | null> => {
      state.reads++
      await sleep(5)
      return groupId === group.id ? { group: { ...group }, role: state.roles.get(userId) ?? null } : null
    },
  }
  return state
}

describe('AccessCache', () => {
  it('answers repeated lookups without reading again, and shares one read between concurrent misses', async () => {
    const t = table()
    t.roles.set('u1', 'editor')
    const cache = new AccessCache(t.load, { ttlMs: 60_000, maxEntries: 100 })
    const [a, b] = await Promise.all([cache.get('g1', 'u1'), cache.get('g1', 'u1')])
    expect(a?.role).toBe('editor')
    expect(b?.role).toBe('editor')
    await cache.get('g1', 'u1')
    expect(t.reads).toBe(1)
    expect(cache.hits).toBe(2)
  })

  it('drops an entry at once on invalidation, by member or by group', async () => {
    const t = table()
    t.roles.set('u1', 'editor')
    t.roles.set('u2', 'viewer')
    const cache = new AccessCache(t.load, { ttlMs: 60_000, maxEntries: 100 })
    await cache.get('g1', 'u1')
    await cache.get('g1', 'u2')
    t.roles.set('u1', null)
    cache.invalidateMember('g1', 'u1')
    expect((await cache.get('g1', 'u1'))?.role).toBeNull()
    t.roles.set('u2', 'editor')
    cache.invalidateGroup('g1')
    expect((await cache.get('g1', 'u2'))?.role).toBe('editor')
  })

  it('does not keep a load that raced an invalidation', async () => {
    const t = table()
    t.roles.set('u1', 'editor')
    const cache = new AccessCache(t.load, { ttlMs: 60_000, maxEntries: 100 })
    const inFlight = cache.get('g1', 'u1')
    t.roles.set('u1', null)
    cache.invalidateMember('g1', 'u1')
    await inFlight
    expect((await cache.get('g1', 'u1'))?.role).toBeNull()
  })

  it('expires entries after the TTL', async () => {
    const t = table()
    const cache = new AccessCache(t.load, { ttlMs: 20, maxEntries: 100 })
    await cache.get('g1', 'u1')
    await sleep(40)
    await cache.get('g1', 'u1')
    expect(t.reads).toBe(2)
  })

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const t = table()
    const cache = new AccessCache(t.load, { ttlMs: 60_000, maxEntries: 2 })
    await cache.get('g1', 'a')
    await cache.get('g1', 'b')
    await cache.get('g1', 'a') // a is now the most recent
    await cache.get('g1', 'c') // evicts b
    const reads = t.reads
    await cache.get('g1', 'a')
    expect(t.reads).toBe(reads)
    await cache.get('g1', 'b')
    expect(t.reads).toBe(reads + 1)
  })
})
