/**
 * A rolling upgrade with real processes: node 0 acts as the previous release
 * (WIRE_FORMAT_CEILING=1: unversioned presence frames and access events, no registry), node 1 is
 * this release. With stock clients on both: edits, presence, revocation (an access event closes a
 * removed member's socket on the other node, well before the storage re-check could) and
 * compaction (a snapshot one node wrote, loaded by the other) work both ways, and no room waits
 * for presence answers that never come. Then the old node leaves and the newer formats take over
 * (collab_wire_format), and a node of this release takes its place. On one Redis and on a Redis
 * Cluster (sharded pub/sub for presence).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GroupResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type ClusterOptions, type TestCluster } from '../helpers/cluster.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import type { ServerProcess } from '../helpers/process.ts'
import { waitFor } from '../helpers/wait.ts'

const OLD = 0
const NEW = 1
/** Long enough that only the access event can close a removed member's socket within the test's waits. */
const REVOCATION_DEADLINE_MS = 60_000

const SHAPES: Array<[string, Pick<ClusterOptions, 'redisCluster'>]> = [['one Redis', {}], ['a Redis Cluster', { redisCluster: { masters: 3 } }]]

describe.each(SHAPES)('a rolling upgrade on %s', (_shape, shape) => {
  let cluster: TestCluster
  let durable: DurableView
  let owner: TestUser
  let group: GroupResponse
  let oldRelease = true
  const clients: Client[] = []

  beforeAll(async () => {
    cluster = await startCluster(2, {
      LOG_LEVEL: 'info',
      REVOCATION_DEADLINE_MS: String(REVOCATION_DEADLINE_MS),
      ACCESS_CACHE_TTL_MS: String(REVOCATION_DEADLINE_MS),
      COMPACT_IDLE_MS: '300',
      ROOM_GRACE_MS: '300',
    }, { ...shape, nodeEnv: (index): Record<string, string> => (index === OLD && oldRelease ? { WIRE_FORMAT_CEILING: '1' } : {}) })
    durable = await durableView(cluster.env)
    owner = await registerUser(cluster.api(NEW), 'Owner')
    group = await createGroup(cluster.api(NEW), owner)
  }, 60_000)

  afterAll(async () => {
    for (const client of clients) client.destroy()
    await durable?.close()
    await cluster?.close()
  })

  async function on(node: number, room: string, user: TestUser): Promise<Client> {
    const client = await connectSynced(cluster.nodes[node]!.collabUrl, room, { token: user.token })
    clients.push(client)
    return client
  }

  /** A value of `/metrics` (e.g. `collab_wire_format{kind="presence"}`), or null when absent. */
  async function metric(node: ServerProcess, series: string): Promise<number | null> {
    const text = await (await fetch(`${node.url}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? null : Number(line.slice(series.length + 1))
  }

  async function formats(node: ServerProcess): Promise<{ presence: number | null; access: number | null; oldNodes: number | null }> {
    return {
      presence: await metric(node, 'collab_wire_format{kind="presence"}'),
      access: await metric(node, 'collab_wire_format{kind="access"}'),
      oldNodes: await metric(node, 'collab_wire_old_nodes'),
    }
  }

  async function member(of: GroupResponse = group): Promise<TestUser> {
    const user = await registerUser(cluster.api(NEW), 'Member')
    await addMember(cluster.api(NEW), owner, of.id, user, 'editor')
    return user
  }

  /** Two clients on `a` and `b` see each other's strokes and presence. */
  async function workTogether(a: number, b: number, of: GroupResponse): Promise<void> {
    const room = of.rooms.canvas
    const other = await member(of)
    const [x, y] = [await on(a, room, owner), await on(b, room, other)]
    const before = readStrokes(x.doc).length
    addStroke(x.doc, { author: owner.id, color: '#aa0000', width: 2, tool: 'pen', points: [[1, 1]] })
    addStroke(y.doc, { author: other.id, color: '#00aa00', width: 2, tool: 'pen', points: [[2, 2]] })
    await waitFor(() => readStrokes(x.doc).length === before + 2 && readStrokes(y.doc).length === before + 2, 10_000, `strokes across nodes ${a} and ${b}`)
    x.provider.awareness.setLocalStateField('cursor', { x: 1 })
    y.provider.awareness.setLocalStateField('cursor', { x: 2 })
    await waitFor(() => x.provider.awareness.getStates().get(y.doc.clientID)?.cursor && y.provider.awareness.getStates().get(x.doc.clientID)?.cursor, 10_000, `presence across nodes ${a} and ${b}`)
  }

  /** A member connected to `at` is removed through `via`: the access event closes her socket. */
  async function revokeAcross(via: number, at: number): Promise<void> {
    const leaver = await member()
    const socket = await on(at, group.rooms.chat, leaver)
    const removed = await cluster.api(via)('DELETE', `/groups/${group.id}/members/${leaver.id}`, { token: owner.token })
    expect(removed.status).toBe(204)
    await waitFor(() => socket.closeEvents.length > 0, 10_000, `the socket on node ${at} closed by node ${via}'s event`)
    expect(socket.closeEvents[0]?.code).toBe(CloseCode.forbidden)
  }

  /** A room edited only on `writer` is compacted there, then loaded from that snapshot on `reader`. */
  async function compactAcross(writer: number, reader: number): Promise<void> {
    const room = (await createGroup(cluster.api(NEW), owner)).rooms.canvas
    const x = await on(writer, room, owner)
    addStroke(x.doc, { author: owner.id, color: '#123456', width: 2, tool: 'pen', points: [[5, 5]] })
    await waitFor(async () => {
      const snapshot = await durable.snapshot(room)
      return snapshot !== null && readStrokes(snapshot).length === 1
    }, 15_000, `a snapshot written by node ${writer}`)
    x.destroy()
    const y = await on(reader, room, owner)
    expect(readStrokes(y.doc).map((s) => s.color)).toEqual(['#123456'])
  }

  it('the new node speaks the old node\'s formats while it is live', async () => {
    await waitFor(async () => {
      const seen = await formats(cluster.nodes[NEW]!)
      return seen.presence === 1 && seen.access === 1 && seen.oldNodes === 1
    }, 15_000, 'node 1 knows the old node')
    expect(await metric(cluster.nodes[OLD]!, 'collab_wire_generation')).toBe(1)
    expect(await metric(cluster.nodes[NEW]!, 'collab_wire_generation')).toBe(2)
    expect(await formats(cluster.nodes[OLD]!)).toMatchObject({ presence: 1, access: 1 })
  })

  it('edits and presence cross both ways', async () => {
    await workTogether(OLD, NEW, group)
    await workTogether(NEW, OLD, await createGroup(cluster.api(NEW), owner))
  })

  it('a member removed on either node is disconnected on the other by the access event', async () => {
    await revokeAcross(OLD, NEW)
    await revokeAcross(NEW, OLD)
  })

  it('a snapshot either node wrote loads on the other', async () => {
    await compactAcross(OLD, NEW)
    await compactAcross(NEW, OLD)
  })

  it('no room waited for presence answers that could not come, and nothing was dropped by the new node', async () => {
    const newLogs = cluster.nodes[NEW]!.logs
    expect(newLogs.filter((line) => line.includes('judging presence claims without every node'))).toEqual([])
    expect(await metric(cluster.nodes[NEW]!, 'collab_wire_dropped_total{kind="presence",reason="unknown_version"}')).toBeNull()
    expect(newLogs.some((line) => line.includes('an old node is live'))).toBe(true)
  })

  it('once the old node leaves the newer formats take over, and a node of this release joins in them', async () => {
    await cluster.killNode(OLD, 'SIGTERM')
    await waitFor(async () => {
      const seen = await formats(cluster.nodes[NEW]!)
      return seen.presence === 2 && seen.access === 2 && seen.oldNodes === 0
    }, 20_000, 'the newer formats on node 1')
    expect(cluster.nodes[NEW]!.logs.some((line) => line.includes('"msg":"wire formats changed"'))).toBe(true)

    oldRelease = false
    await cluster.startNode(OLD)
    await waitFor(async () => {
      const seen = await Promise.all([formats(cluster.nodes[OLD]!), formats(cluster.nodes[NEW]!)])
      return seen.every((f) => f.presence === 2 && f.access === 2 && f.oldNodes === 0)
    }, 20_000, 'both nodes in the newer formats')
    await workTogether(OLD, NEW, await createGroup(cluster.api(NEW), owner))
    await revokeAcross(OLD, NEW)
    await revokeAcross(NEW, OLD)
  }, 90_000)
})
