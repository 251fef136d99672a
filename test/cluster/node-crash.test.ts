/**
 * kill -9 a node while its clients edit: they reconnect through the balancer to the surviving
 * nodes, and every edit ends up in every client and in the MongoDB snapshot. The test reports
 * how many edits were already durable at the kill and how many the clients re-sent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { startBalancer, type Balancer } from '../helpers/balancer.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const ctx = useCluster(3, { COMPACT_IDLE_MS: '300', COMPACT_SWEEP_MS: '1000', ROOM_GRACE_MS: '500', REDIS_MIN_ENTRY_AGE_MS: '1000' }, { durable: true })
let balancer: Balancer

beforeAll(async () => {
  balancer = await startBalancer([])
})

afterAll(async () => {
  await balancer.close()
})

/** Connects through the balancer, pinned to one node for the initial placement. */
async function viaBalancer(node: number): Promise<Client> {
  balancer.setBackends([ctx.cluster.nodes[node]!.port])
  const client = await connectSynced(balancer.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
  ctx.clients.push(client)
  return client
}

function strokeIds(client: Client): Set<string> {
  return new Set(readStrokes(client.doc).map((s) => s.id))
}

it('loses no edit when a node is killed with SIGKILL mid-edit', async () => {
  const onVictim = [await viaBalancer(0), await viaBalancer(0)]
  const survivors = [await viaBalancer(1), await viaBalancer(2)]
  const all = [...onVictim, ...survivors]
  const written = new Map<Client, string[]>(all.map((c) => [c, []]))

  let editing = true
  const edits = all.map(async (client, n) => {
    for (let i = 0; editing || i < 10; i++) {
      const stroke = addStroke(client.doc, { author: ctx.owner.id, color: '#123456', width: 2, tool: 'pen', id: `c${n}-s${i}`, points: [[i, n]] })
      written.get(client)!.push(stroke.get('id') as string)
      await sleep(3)
      if (!editing && i >= 150) break
    }
  })
  await sleep(300)
  balancer.setBackends([]) // the balancer's health check notices the node going away
  await ctx.cluster.killNode(0, 'SIGKILL')
  const writtenBeforeKill = new Set([...written.values()].flat())
  const atKill = new Set(readStrokes(await ctx.durable.load(ctx.group.rooms.canvas)).map((s) => s.id))
  balancer.setBackends([ctx.cluster.nodes[1]!.port, ctx.cluster.nodes[2]!.port])
  await sleep(300)
  editing = false
  await Promise.all(edits)

  const everything = new Set([...written.values()].flat())
  await waitFor(() => all.every((c) => strokeIds(c).size === everything.size), 20_000, 'every client has every edit')
  await waitFor(() => sameContent(all[0]!.doc, all[1]!.doc) && sameContent(all[1]!.doc, all[2]!.doc) && sameContent(all[2]!.doc, all[3]!.doc))
  for (const id of everything) expect(strokeIds(all[0]!).has(id)).toBe(true)

  await waitFor(async () => {
    const snapshot = await ctx.durable.snapshot(ctx.group.rooms.canvas)
    return snapshot !== null && readStrokes(snapshot).length === everything.size
  }, 20_000, 'the MongoDB snapshot holds every edit')

  const durableAtKill = [...writtenBeforeKill].filter((id) => atKill.has(id)).length
  const recovered = writtenBeforeKill.size - durableAtKill
  console.info(`[node-crash] edits written before the kill: ${writtenBeforeKill.size}; already durable (Redis stream + MongoDB) at the kill: ${durableAtKill}; recovered from clients after reconnecting: ${recovered}; written after the kill: ${everything.size - writtenBeforeKill.size}`)
  expect(onVictim.every((c) => c.provider.wsconnected)).toBe(true)
}, 90_000)
