/**
 * MongoDB stopped while a compaction is running, and MongoDB down when the nodes start. Nodes
 * stay up, say `storage: down`, retry, and once MongoDB is back every update reaches the
 * snapshot; a node started without MongoDB becomes ready when it appears.
 */
import { afterEach, expect, it } from 'vitest'
import { createClient } from '@redis/client'
import { sleep, waitFor } from '../helpers/wait.ts'
import {
  acknowledgedBetween, assertPostStatuses, assertRecovered, closeFigures, FAULT_MS, MONGO_DETECT_MS, postFigures, report, startFaultRig, type FaultRig,
} from './harness.ts'

let rig: FaultRig | undefined

afterEach(async () => {
  await rig?.close()
  rig = undefined
})

it('survives MongoDB stopped during a compaction', async () => {
  rig = await startFaultRig()
  rig.startEditing()
  await rig.untilAcknowledged()
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
  await waitFor(() => [0, 1].every((n) => rig!.firstUnready(n, 'storage', stoppedAt) !== null), MONGO_DETECT_MS + 2_000, 'every node reports storage down')
  const knownAt = [0, 1].map((n) => rig!.firstUnready(n, 'storage', stoppedAt)!)
  const detected = knownAt.map((at) => at - stoppedAt)
  expect(Math.max(...detected), '/readyz said storage down within the MongoDB deadline and a ping interval').toBeLessThanOrEqual(MONGO_DETECT_MS)
  await sleep(stoppedAt + FAULT_MS - Date.now())
  const startAt = Date.now()
  // Hot rooms kept taking edits: strokes were logged and echoed on both nodes meanwhile.
  const ackedMeanwhile = [0, 1].map((n) => acknowledgedBetween(rig!, n, knownAt[n]!, startAt))
  expect(Math.min(...ackedMeanwhile)).toBeGreaterThanOrEqual(10)
  await rig.mongo.start()
  await assertRecovered(rig, 'mongodb stopped during compaction')
  report('mongodb stopped during compaction', {
    'lasted ms': startAt - stoppedAt, 'detected ms (per node)': detected.join('/'), 'strokes acknowledged while storage was down (per node)': ackedMeanwhile.join('/'),
    'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig),
  })
  assertPostStatuses(rig, 'mongodb stopped during compaction', { faultAt: stoppedAt })
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
  const editingAt = Date.now()
  rig.startEditing()
  await rig.untilAcknowledged()
  await assertRecovered(rig, 'mongodb down at startup')
  report('mongodb down at startup', { 'down after start ms': downFor, 'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig) })
  assertPostStatuses(rig, 'mongodb down at startup', { faultAt: editingAt })
}, 150_000)
