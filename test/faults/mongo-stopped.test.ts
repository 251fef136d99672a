/**
 * MongoDB stopped while a compaction is running, and MongoDB down when the nodes start. Nodes
 * stay up, say `storage: down`, retry, and once MongoDB is back every update reaches the
 * snapshot; a node started without MongoDB becomes ready when it appears.
 */
import { afterEach, expect, it } from 'vitest'
import { createClient } from '@redis/client'
import { sleep, waitFor } from '../helpers/wait.ts'
import { assertRecovered, FAULT_MS, report, startFaultRig, type FaultRig } from './harness.ts'

let rig: FaultRig | undefined

afterEach(async () => {
  await rig?.close()
  rig = undefined
})

it('survives MongoDB stopped during a compaction', async () => {
  rig = await startFaultRig()
  rig.startEditing()
  // A compaction holds the room's lease in Redis while it runs: stop MongoDB under it.
  const redis = createClient({ url: rig.cluster.redis.url })
  await redis.connect()
  try {
    await waitFor(async () => (await redis.keys('collab:lease:*')).length > 0, 30_000, 'a compaction under way')
  } finally {
    await redis.close()
  }
  const stoppedAt = Date.now()
  await rig.mongo.stop()
  await waitFor(() => [0, 1].every((n) => rig!.firstDown(n, 'storage', stoppedAt) !== null), FAULT_MS, 'every node reports storage down')
  const detected = [0, 1].map((n) => rig!.firstDown(n, 'storage', stoppedAt)! - stoppedAt)
  await sleep(stoppedAt + FAULT_MS - Date.now())
  await rig.mongo.start()
  const startedAt = Date.now()
  await assertRecovered(rig, 'mongodb stopped during compaction')
  report('mongodb stopped during compaction', { 'lasted ms': startedAt - stoppedAt, 'detected ms (per node)': detected.join('/'), strokes: rig.drawn.length, 'chat acknowledged': rig.acknowledged.size })
}, 150_000)

it('starts with MongoDB down, reports storage down, and becomes ready when MongoDB appears', async () => {
  let downFor = 0
  rig = await startFaultRig({
    mongoDownAtStart: {
      whileDown: async (cluster) => {
        const since = Date.now()
        for (const node of cluster.live()) {
          const response = await fetch(`${node.url}/readyz`)
          expect(response.status).toBe(503)
          expect(await response.json()).toMatchObject({ storage: 'down', log: 'up' })
        }
        await sleep(since + FAULT_MS - Date.now()) // down longer than every timer
        for (const node of cluster.live()) expect(node.child.exitCode).toBeNull()
        downFor = Date.now() - since
      },
    },
  })
  rig.startEditing()
  await sleep(1_000)
  await assertRecovered(rig, 'mongodb down at startup')
  report('mongodb down at startup', { 'down after start ms': downFor, strokes: rig.drawn.length, 'chat acknowledged': rig.acknowledged.size })
}, 150_000)
