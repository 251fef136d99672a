/**
 * Redis without persistence restarted: it comes back EMPTY. What survives (README, "Faults"):
 * everything already in a MongoDB snapshot, every update a hot room holds in memory, and every
 * update a client holds (clients re-send what a node lacks when they resync). What is lost is
 * only what was in Redis alone: an update no snapshot, no hot room and no client holds (e.g. a
 * REST chat message whose room was evicted before it was compacted). This test shows the hot
 * rooms and clients carrying everything through: every client converges, the snapshot ends
 * equal to them, and no acknowledged chat message is missing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readStrokes } from '../../shared/canvas.ts'
import { sleep, waitFor } from '../helpers/wait.ts'
import { assertRecovered, durableView, FAULT_MS, report, startFaultRig, type FaultRig } from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig({ persistentRedis: false })
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

it('loses nothing a hot room or a client holds when Redis comes back empty', async () => {
  rig.startEditing()
  await sleep(1_000)
  const stoppedAt = Date.now()
  await rig.cluster.redis.stop('SIGKILL')
  await waitFor(() => [0, 1].every((n) => rig.firstDown(n, 'log', stoppedAt) !== null), FAULT_MS, 'every node reports the log down')
  const detected = [0, 1].map((n) => rig.firstDown(n, 'log', stoppedAt)! - stoppedAt)
  await sleep(stoppedAt + FAULT_MS - Date.now())
  await rig.cluster.redis.start()
  const startedAt = Date.now()
  const durable = await durableView(rig.cluster.env)
  const streamAfterRestart = await durable.streamLength(rig.group.rooms.canvas)
  await durable.close()
  expect(streamAfterRestart).toBe(0) // Redis really came back empty
  await assertRecovered(rig, 'redis restarted empty')
  report('redis restarted empty', {
    'lasted ms': startedAt - stoppedAt,
    'detected ms (per node)': detected.join('/'),
    strokes: rig.drawn.length,
    'strokes on every client': readStrokes(rig.editors[0]!.doc).length,
    'chat acknowledged': rig.acknowledged.size,
  })
}, 150_000)
