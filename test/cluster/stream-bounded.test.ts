/**
 * Under constant editing the room's stream does not grow with the edit count: compaction trims
 * it, keeping about REDIS_MIN_ENTRY_AGE_MS worth of entries plus one compaction's worth.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import { sleep, waitFor } from '../helpers/wait.ts'
import type { GroupResponse } from '../../shared/api.ts'

const MIN_AGE_MS = 1_000
const COMPACT_EVERY = 100
const RUN_MS = 8_000

let cluster: TestCluster
let durable: DurableView
let owner: TestUser
let group: GroupResponse
const clients: Client[] = []

beforeAll(async () => {
  cluster = await startCluster(2, { COMPACT_EVERY_UPDATES: String(COMPACT_EVERY), COMPACT_IDLE_MS: '500', REDIS_MIN_ENTRY_AGE_MS: String(MIN_AGE_MS) })
  durable = await durableView(cluster.env)
  owner = await registerUser(cluster.api(0), 'Owner')
  group = await createGroup(cluster.api(0), owner)
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await durable.close()
  await cluster.close()
})

it('keeps the stream bounded during a long edit run', async () => {
  const writers = await Promise.all([0, 1].map(async (node) => {
    const client = await connectSynced(cluster.nodes[node]!.collabUrl, group.rooms.canvas, { token: owner.token })
    clients.push(client)
    return client
  }))
  const samples: number[] = []
  let updates = 0
  const started = Date.now()
  while (Date.now() - started < RUN_MS) {
    for (const writer of writers) {
      const stroke = addStroke(writer.doc, { author: owner.id, color: '#777777', width: 1, tool: 'pen', points: [[0, 0]] })
      for (let i = 0; i < 4; i++) appendPoints(stroke, [[i, i]])
      updates += 5
    }
    await sleep(10)
    if (updates % 200 === 0) samples.push(await durable.streamLength(group.rooms.canvas))
  }
  const rate = updates / ((Date.now() - started) / 1000)
  const bound = rate * (MIN_AGE_MS / 1000 + 1) + 2 * COMPACT_EVERY
  console.info(`[stream] ${updates} updates at ${rate.toFixed(0)}/s; stream length sampled ${samples.length}x, max ${Math.max(...samples)} (bound ${bound.toFixed(0)})`)
  expect(Math.max(...samples)).toBeLessThan(bound)
  expect(Math.max(...samples)).toBeLessThan(updates / 3)
  await waitFor(() => writers.every((w) => readStrokes(w.doc).length === updates / 5), 20_000)
}, 60_000)
