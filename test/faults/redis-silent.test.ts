/**
 * The network between one node and Redis goes silent (no FIN, no RST: bytes just stop) for
 * longer than every timer, then heals. That node must notice within REDIS_TIMEOUT_MS plus a
 * probe interval (liveness PINGs, command timeouts, a bounded XREAD), say `log: down` while the
 * other node stays ready, refuse writes it cannot log (its clients keep them and resync; its
 * chat posts get 503), and carry on once the path heals; nothing diverges.
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

it('notices a silent Redis path within seconds and recovers when it heals', async () => {
  expect(REDIS_DETECT_MS).toBeLessThan(FAULT_MS / 2)
  rig.startEditing()
  await rig.untilAcknowledged()
  const silentAt = Date.now()
  rig.redisProxies[0]!.blackhole()
  await waitFor(() => rig.firstUnready(0, 'log', silentAt) !== null, REDIS_DETECT_MS + 2_000, 'node 0 reports the log down')
  const knownAt = rig.firstUnready(0, 'log', silentAt)!
  expect(knownAt - silentAt, '/readyz said the log is down within the Redis deadline and a probe interval').toBeLessThanOrEqual(REDIS_DETECT_MS)
  await sleep(silentAt + FAULT_MS - Date.now())
  const healedAt = Date.now()
  rig.redisProxies[0]!.heal()
  const node1 = rig.readiness.filter((r) => r.node === 1 && r.at >= silentAt && r.at < healedAt)
  expect(node1.length).toBeGreaterThan(10)
  expect(node1.filter((r) => r.status !== 200 || r.log !== 'up')).toEqual([]) // the other node stayed ready
  // Nothing is acknowledged that was not logged: node 0's editor gets no echo while its log is down; node 1's keeps getting them.
  const ackedOnNode0 = acknowledgedBetween(rig, 0, knownAt, healedAt)
  const ackedOnNode1 = acknowledgedBetween(rig, 1, knownAt, healedAt)
  expect(ackedOnNode0).toBe(0)
  expect(ackedOnNode1).toBeGreaterThanOrEqual(10)
  await assertRecovered(rig, 'redis silent')
  report('redis silent (node 0)', {
    'lasted ms': healedAt - silentAt, 'detected ms': knownAt - silentAt, 'strokes acknowledged on node 1 meanwhile': ackedOnNode1,
    'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig),
  })
  assertPostStatuses(rig, 'redis silent', { faultAt: silentAt, logDown: { nodes: [0], until: healedAt } })
}, 150_000)
