import { describe, expect, it } from 'vitest'
import { AccessCache, type Access } from '../../server/groups/access-cache.ts'
import { TaggedCache } from '../../server/groups/tagged-cache.ts'
import { sleep } from '../helpers/wait.ts'

const group = { id: 'g1', name: 'G', description: '', ownerId: 'o', createdAt: 0 }

/**
 * A loader over a table we can change, counting its reads (the cache's only job is to avoid
 * them). Like a database, a read sees the table as it was when the read was made; `hold` keeps
 * reads in flight until released, so a test can change the table while one is under way.
 */
function table(): {
  roles: Map<string, Access['role']>
  reads: number
  hold(): () => void
  load: (g: string, u: string) => Promise<Access | null>
} {
  let held: Promise<void> | null = null
  const state = {
    roles: new Map<string, Access['role']>(),
    reads: 0,
    hold: () => {
      let release = (): void => {}
      held = new Promise((resolve) => { release = resolve })
      return release
    },
    load: async (groupId: string, userId: string): Promise<Access | null> => {
      state.reads++
      const found = groupId === group.id ? { group: { ...group }, role: state.roles.get(userId) ?? null } : null
      await held
      return found
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
    const release = t.hold()
    const inFlight = cache.get('g1', 'u1') // has read 'editor', not yet answered
    t.roles.set('u1', null)
    cache.invalidateMember('g1', 'u1')
    release()
    expect((await inFlight)?.role).toBe('editor') // the raced load answers its caller...
    expect((await cache.get('g1', 'u1'))?.role).toBeNull() // ...but is not kept
  })

  it('expires entries after the TTL', async () => {
    const t = table()
    const cache = new AccessCache(t.load, { ttlMs: 20, maxEntries: 100 })
    await cache.get('g1', 'u1')
    await sleep(40)
    await cache.get('g1', 'u1')
    expect(t.reads).toBe(2)
  })

  it('keeps its tag index bounded: lookups of random ids leave no empty tags behind', async () => {
    const t = table()
    const cache = new TaggedCache<Access | null>({ ttlMs: 60_000, maxEntries: 50 })
    for (let i = 0; i < 5_000; i++) {
      const id = `random-${i}`
      await cache.get(`${id}\u0000u1`, [`group:${id}`, `member:${id}:u1`], () => t.load(id, 'u1'))
    }
    expect(cache.tagCount).toBeLessThanOrEqual(2 * 50)
    cache.invalidate('group:random-4999')
    cache.invalidate('member:random-4998:u1')
    expect(cache.tagCount).toBeLessThanOrEqual(2 * 50 - 3)
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

describe('while storage cannot answer', () => {
  /** A loader that fails while `down` is set, counting its reads. */
  function flaky(): { down: boolean; reads: number; load: (g: string, u: string) => Promise<Access | null> } {
    const state = {
      down: false,
      reads: 0,
      load: async (_g: string, userId: string): Promise<Access | null> => {
        state.reads++
        if (state.down) throw Object.assign(new Error('silent'), { name: 'StorageTimeoutError' })
        return { group: { ...group }, role: userId === 'ann' ? 'editor' : null }
      },
    }
    return state
  }

  it('answers an expired membership as last known, within the stale window, and only then fails', async () => {
    const t = flaky()
    const cache = new AccessCache(t.load, { ttlMs: 20, maxEntries: 10, staleIfErrorMs: 60 })
    expect((await cache.get('g1', 'ann'))?.role).toBe('editor')
    await sleep(30) // expired
    t.down = true
    expect((await cache.get('g1', 'ann'))?.role).toBe('editor')
    expect(t.reads).toBe(2) // it did try storage first
    await sleep(90) // past TTL + stale window since it was read
    await expect(cache.get('g1', 'ann')).rejects.toThrow('silent')
  })

  it('never answers an invalidated membership from before the change', async () => {
    const t = flaky()
    const cache = new AccessCache(t.load, { ttlMs: 20, maxEntries: 10, staleIfErrorMs: 60_000 })
    await cache.get('g1', 'ann')
    cache.invalidateMember('g1', 'ann')
    t.down = true
    await expect(cache.get('g1', 'ann')).rejects.toThrow('silent')
  })

  it('keeps the cached membership when a re-check cannot read storage, and takes the fresh one when it can', async () => {
    const t = flaky()
    const cache = new AccessCache(t.load, { ttlMs: 60_000, maxEntries: 10, staleIfErrorMs: 60_000 })
    await cache.get('g1', 'ann')
    t.down = true
    expect((await cache.refresh('g1', 'ann'))?.role).toBe('editor')
    t.down = false
    expect((await cache.refresh('g1', 'bob'))?.role).toBe(null)
    expect(t.reads).toBe(3)
  })
})
