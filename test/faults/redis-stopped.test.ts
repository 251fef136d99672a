/**
 * Redis stopped (SIGKILL) for longer than every timer, then started again on its AOF. Nodes stay
 * up, say `log: down`, refuse what they cannot log (clients keep it and resync), and catch up
 * by themselves; nothing acknowledged is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sleep, waitFor } from '../helpers/wait.ts'
import { assertRecovered, FAULT_MS, report, startFaultRig, type FaultRig } from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig()
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

it('survives Redis stopped for longer than every timer', async () => {
  rig.startEditing()
  await sleep(1_000)
  const stoppedAt = Date.now()
  await rig.cluster.redis.stop('SIGKILL')
  await waitFor(() => [0, 1].every((n) => rig.firstDown(n, 'log', stoppedAt) !== null), FAULT_MS, 'every node reports the log down')
  const detected = [0, 1].map((n) => rig.firstDown(n, 'log', stoppedAt)! - stoppedAt)
  await sleep(stoppedAt + FAULT_MS - Date.now())
  // /metrics says so too (and carries the background-failure counter, whatever failed meanwhile).
  const metrics = await (await fetch(`${rig.cluster.nodes[0]!.url}/metrics`)).text()
  expect(metrics).toMatch(/^collab_log_up 0$/m)
  expect(metrics).toMatch(/^# TYPE collab_background_failures_total counter$/m)
  await rig.cluster.redis.start()
  const startedAt = Date.now()
  await assertRecovered(rig, 'redis stopped')
  report('redis stopped', { 'lasted ms': startedAt - stoppedAt, 'detected ms (per node)': detected.join('/'), strokes: rig.drawn.length, 'chat acknowledged': rig.acknowledged.size })
  expect(Math.max(...detected)).toBeLessThan(FAULT_MS)
}, 150_000)
