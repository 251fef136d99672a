/**
 * Redis dies mid-edit and comes back: nodes keep serving their sockets, say so on /readyz,
 * refuse updates they cannot log (clients keep them and resync), and resume by themselves from
 * their last stream ids. Nothing anyone wrote is lost.
 */
import { expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { sameContent } from '../helpers/docs.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const ctx = useCluster(3, { COMPACT_IDLE_MS: '300', REDIS_MIN_ENTRY_AGE_MS: '1000' }, { durable: true })

async function readiness(node: number): Promise<{ status: number; log: string }> {
  const response = await fetch(`${ctx.cluster.nodes[node]!.url}/readyz`)
  return { status: response.status, log: ((await response.json()) as { log: string }).log }
}

it('resumes after a Redis restart with every edit everywhere', async () => {
  const all = await Promise.all([0, 1, 2].map(async (node) => {
    const client = await connectSynced(ctx.cluster.nodes[node]!.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
    ctx.clients.push(client)
    return client
  }))
  const ids: string[] = []
  const draw = (count: number): void => {
    all.forEach((client, n) => {
      for (let i = 0; i < count; i++) ids.push(addStroke(client.doc, { author: ctx.owner.id, color: '#00ff00', width: 1, tool: 'pen', id: `n${n}-${ids.length}`, points: [[i, n]] }).get('id') as string)
    })
  }

  draw(20)
  await waitFor(() => all.every((c) => readStrokes(c.doc).length === ids.length), 10_000)

  await ctx.cluster.redis.stop('SIGKILL')
  await waitFor(async () => (await readiness(1)).status === 503, 5_000, 'readyz reports the log down')
  expect((await readiness(1)).log).toBe('down')
  draw(20) // refused by the nodes for now; the ctx.clients keep them
  await sleep(500)
  expect(all.every((c) => c.provider.wsconnected)).toBe(true)

  await ctx.cluster.redis.start()
  await waitFor(async () => (await Promise.all([0, 1, 2].map(readiness))).every((r) => r.status === 200), 20_000, 'all nodes ready again')
  draw(20)
  await waitFor(() => all.every((c) => readStrokes(c.doc).length === ids.length), 20_000, 'every edit on every client')
  await waitFor(() => sameContent(all[0]!.doc, all[1]!.doc) && sameContent(all[1]!.doc, all[2]!.doc))

  const stored = await ctx.durable.load(ctx.group.rooms.canvas)
  expect(new Set(readStrokes(stored).map((s) => s.id))).toEqual(new Set(ids))
}, 90_000)
