/**
 * The format registry on a real Redis: entries live while renewed, expire when not, leave when
 * withdrawn, and junk in it is skipped; the negotiator sends what every live node reads, drops
 * at once when an older node appears (in the registry or only heard), and goes up again once the
 * last one is gone.
 */
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FormatNegotiator, type FormatTiming } from '../../server/cluster/format-negotiator.ts'
import { FormatRegistry } from '../../server/cluster/format-registry.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { keySlot } from '../../server/cluster/redis-keyspace.ts'
import { CURRENT_GENERATION, generation } from '../../server/cluster/wire-format.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { waitFor } from '../helpers/wait.ts'

const logger = pino({ level: 'silent' })
const FAST: FormatTiming = { heartbeatMs: 100, entryTtlMs: 400, legacySilentAfterMs: 400, startupWindowMs: 300 }
let redis: RedisServer
let clients: RedisClients
let prefix = 0
const negotiators: FormatNegotiator[] = []

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
  clients = await RedisClients.connect(redis.url, logger)
}, 30_000)

afterEach(async () => {
  await Promise.all(negotiators.splice(0).map((n) => n.close()))
})

afterAll(async () => {
  await clients?.close()
  await redis?.destroy()
})

function registry(ttlMs = FAST.entryTtlMs, at = `reg${++prefix}:`): FormatRegistry {
  return new FormatRegistry({ redis: clients.keyed, channels: clients.nodeChannels, prefix: at, ttlMs })
}

async function negotiator(nodeId: string, shared: FormatRegistry, options: { generation?: number; timing?: Partial<FormatTiming> } = {}): Promise<FormatNegotiator> {
  const n = new FormatNegotiator({ nodeId, generation: options.generation ?? CURRENT_GENERATION, registry: shared, logger, timing: { ...FAST, ...options.timing } })
  negotiators.push(n)
  await n.start()
  return n
}

describe('the registry', () => {
  it('lists each announced node with what it reads, and keeps every key in one cluster slot', async () => {
    const reg = registry(10_000, 'slots:')
    await reg.announce('node-a', 2)
    await reg.announce('node-b', 1)
    const entries = await reg.list()
    expect(entries.sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { node: 'node-a', generation: 2, reads: generation(2).reads },
      { node: 'node-b', generation: 1, reads: generation(1).reads },
    ])
    const keys = await clients.cmd.keys('slots:*')
    expect(keys.length).toBe(3)
    expect(new Set(keys.map(keySlot)).size).toBe(1)
  })

  it('drops an entry that was not renewed, and takes it out of the index', async () => {
    const reg = registry(200)
    await reg.announce('gone', 2)
    expect((await reg.list()).map((e) => e.node)).toEqual(['gone'])
    await waitFor(async () => (await reg.list()).length === 0, 5_000, 'the entry expired')
    expect(await clients.cmd.sMembers(`reg${prefix}:{registry}nodes`)).toEqual([])
  })

  it('forgets a withdrawn node at once and tells the others', async () => {
    const reg = registry(10_000)
    const told: number[] = []
    const stop = await reg.watch(() => told.push(Date.now()))
    await reg.announce('leaving', 2, true)
    await reg.withdraw('leaving')
    expect(await reg.list()).toEqual([])
    await waitFor(() => told.length >= 2, 5_000, 'join and leave heard')
    await stop()
  })

  it('skips junk another node (or anyone) put in it', async () => {
    const reg = registry(10_000)
    const at = `reg${prefix}:{registry}`
    await reg.announce('good', 2)
    await clients.cmd.sAdd(`${at}nodes`, ['not json', 'bad id!', 'empty'])
    await clients.cmd.set(`${at}node:not json`, '{')
    await clients.cmd.set(`${at}node:empty`, JSON.stringify({ generation: 2, reads: { presence: [] } }))
    expect((await reg.list()).map((e) => e.node)).toEqual(['good'])
  })
})

describe('negotiation over the registry', () => {
  it('sends the oldest formats for its first moments, then the newest every node reads', async () => {
    const reg = registry()
    const a = await negotiator('node-a', reg)
    expect(a.sending('presence')).toBe(1) // an old node may be live and not heard yet
    await waitFor(() => a.sending('presence') === 2, 5_000, 'the newest presence format')
    const b = await negotiator('node-b', reg)
    await waitFor(() => b.sending('presence') === 2 && b.sending('access') === 2, 5_000, 'b sends the newest')
    expect(a.sending('presence')).toBe(2)
    expect(a.status().nodes).toEqual([{ node: 'node-b', generation: 2 }])
    expect(a.status().oldNodes).toEqual([])
  })

  it('drops to what an older registered node reads while it is live, and goes up when it leaves', async () => {
    const reg = registry()
    const a = await negotiator('node-a', reg)
    await waitFor(() => a.sending('presence') === 2, 5_000, 'newest at first')
    const changes: number[] = []
    a.onChange((sending) => changes.push(sending.presence))
    await reg.announce('older', 1, true) // a registered node reading presence format 1 only
    await waitFor(() => a.sending('presence') === 1, 5_000, 'dropped for the older node')
    expect(a.status().oldNodes).toEqual(['older'])
    await reg.withdraw('older')
    await waitFor(() => a.sending('presence') === 2, 5_000, 'up again once it left')
    expect(changes).toEqual([1, 2])
  })

  it('drops at once for an old node it only hears (no registry entry), and goes up once it falls silent', async () => {
    const reg = registry()
    const a = await negotiator('node-a', reg)
    await waitFor(() => a.sending('access') === 2, 5_000, 'newest at first')
    a.heardUnversioned('legacy-node')
    await waitFor(() => a.sending('access') === 1, 1_000, 'dropped once a listing lacks it')
    expect(a.status()).toMatchObject({ oldNodes: ['legacy-node'], nodes: [{ node: 'legacy-node', generation: 1 }] })
    await waitFor(() => a.sending('access') === 2, 5_000, 'up again after the old node fell silent')
  })

  it('does not take a registered node for an old one when it speaks the old formats (its first moments)', async () => {
    const reg = registry()
    const a = await negotiator('node-a', reg, { timing: { heartbeatMs: 60_000, startupWindowMs: 0 } }) // lists only when told
    await waitFor(() => a.sending('presence') === 2, 5_000, 'newest')
    const changes: number[] = []
    a.onChange((sending) => changes.push(sending.presence))
    await reg.announce('node-b', CURRENT_GENERATION) // joined without telling: a's last listing lacks it
    a.heardUnversioned('node-b')
    await waitFor(() => a.status().nodes.some((n) => n.node === 'node-b' && n.generation === CURRENT_GENERATION), 5_000, 'node-b listed')
    expect(a.status().oldNodes).toEqual([])
    expect(changes).toEqual([])
  })

  it('a node acting as the previous release stays out of the registry and sends only its formats', async () => {
    const reg = registry()
    const old = await negotiator('old-node', reg, { generation: 1 })
    expect(old.sending('presence')).toBe(1)
    expect(old.reads('presence', 2)).toBe(false)
    expect(old.reads('access', 2)).toBe(false)
    expect(await reg.list()).toEqual([])
    const a = await negotiator('node-a', reg)
    await waitFor(() => a.sending('presence') === 2, 5_000, 'the old node is invisible until it speaks')
    expect(old.sending('presence')).toBe(1)
  })

  it('after losing Redis it assumes an old node may be live again for the startup window', async () => {
    const a = await negotiator('node-a', registry())
    await waitFor(() => a.sending('presence') === 2, 5_000, 'newest at first')
    a.rejoin()
    expect(a.sending('presence')).toBe(1)
    await waitFor(() => a.sending('presence') === 2, 5_000, 'newest again after the window')
  })

  it('counts what it dropped by kind and reason', async () => {
    const a = await negotiator('node-a', registry())
    a.dropped('presence', 'unknown_version')
    a.dropped('presence', 'unknown_version')
    a.dropped('access', 'malformed')
    expect(a.drops()).toEqual([{ kind: 'presence', reason: 'unknown_version', count: 2 }, { kind: 'access', reason: 'malformed', count: 1 }])
  })
})
