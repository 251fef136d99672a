/**
 * Redis stopped (SIGKILL) for longer than every timer, then started again on its AOF. Nodes stay
 * up, say `log: down`, refuse what they cannot log (clients keep it and resync; chat posts get
 * 503 with Retry-After), and catch up by themselves; nothing acknowledged is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sleep, waitFor } from '../helpers/wait.ts'
import {
  acknowledgedBetween, assertPostStatuses, assertRecovered, closeFigures, FAULT_MS, postFigures, REDIS_DETECT_MS, report, startFaultRig, type FaultRig,
} from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig()
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

it('survives Redis stopped for longer than every timer', async () => {
  expect(REDIS_DETECT_MS).toBeLessThan(FAULT_MS / 2)
  rig.startEditing()
  await rig.untilAcknowledged()
  const stoppedAt = Date.now()
  await rig.cluster.redis.stop('SIGKILL')
  await waitFor(() => [0, 1].every((n) => rig.firstUnready(n, 'log', stoppedAt) !== null), REDIS_DETECT_MS + 2_000, 'every node reports the log down')
  const knownAt = [0, 1].map((n) => rig.firstUnready(n, 'log', stoppedAt)!)
  const detected = knownAt.map((at) => at - stoppedAt)
  expect(Math.max(...detected), '/readyz said the log is down within the Redis deadline and a probe interval').toBeLessThanOrEqual(REDIS_DETECT_MS)
  await sleep(stoppedAt + FAULT_MS - Date.now())
  // /metrics says so too (and carries the background-failure counter, whatever failed meanwhile).
  const metrics = await (await fetch(`${rig.cluster.nodes[0]!.url}/metrics`)).text()
  expect(metrics).toMatch(/^collab_log_up 0$/m)
  expect(metrics).toMatch(/^# TYPE collab_background_failures_total counter$/m)
  const restartAt = Date.now()
  // Nothing is acknowledged that was not logged: no editor got an echo while the log was down.
  expect([0, 1].map((n) => acknowledgedBetween(rig, n, knownAt[n]!, restartAt))).toEqual([0, 0])
  await rig.cluster.redis.start()
  await assertRecovered(rig, 'redis stopped')
  report('redis stopped', { 'lasted ms': restartAt - stoppedAt, 'detected ms (per node)': detected.join('/'), 'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig) })
  assertPostStatuses(rig, 'redis stopped', { faultAt: stoppedAt, logDown: { nodes: [0, 1], until: restartAt } })
}, 150_000)
