/**
 * Under constant editing the room's stream does not grow with the edit count: compaction trims
 * it, keeping about REDIS_MIN_ENTRY_AGE_MS worth of entries plus one compaction's worth.
 */
import { expect, it } from 'vitest'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const MIN_AGE_MS = 1_000
const COMPACT_EVERY = 100
const RUN_MS = 8_000

const ctx = useCluster(2, { COMPACT_EVERY_UPDATES: String(COMPACT_EVERY), COMPACT_IDLE_MS: '500', REDIS_MIN_ENTRY_AGE_MS: String(MIN_AGE_MS) }, { durable: true })

it('keeps the stream bounded during a long edit run', async () => {
  const writers = await Promise.all([0, 1].map(async (node) => {
    const client = await connectSynced(ctx.cluster.nodes[node]!.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
    ctx.clients.push(client)
    return client
  }))
  const samples: number[] = []
  let updates = 0
  const started = Date.now()
  while (Date.now() - started < RUN_MS) {
    for (const writer of writers) {
      const stroke = addStroke(writer.doc, { author: ctx.owner.id, color: '#777777', width: 1, tool: 'pen', points: [[0, 0]] })
      for (let i = 0; i < 4; i++) appendPoints(stroke, [[i, i]])
      updates += 5
    }
    await sleep(10)
    if (updates % 200 === 0) samples.push(await ctx.durable.streamLength(ctx.group.rooms.canvas))
  }
  const rate = updates / ((Date.now() - started) / 1000)
  const bound = rate * (MIN_AGE_MS / 1000 + 1) + 2 * COMPACT_EVERY
  console.info(`[stream] ${updates} updates at ${rate.toFixed(0)}/s; stream length sampled ${samples.length}x, max ${Math.max(...samples)} (bound ${bound.toFixed(0)})`)
  expect(Math.max(...samples)).toBeLessThan(bound)
  expect(Math.max(...samples)).toBeLessThan(updates / 3)
  await waitFor(() => writers.every((w) => readStrokes(w.doc).length === updates / 5), 20_000)
}, 60_000)
