/**
 * The network between one node and Redis goes silent (no FIN, no RST: bytes just stop) for
 * longer than every timer, then heals. That node must notice within REDIS_TIMEOUT_MS plus a
 * probe interval (liveness PINGs, command timeouts, a bounded XREAD), say `log: down` while the
 * other node stays ready, refuse writes it cannot log (its clients keep them and resync), and
 * carry on once the path heals; nothing diverges.
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

it('notices a silent Redis path within seconds and recovers when it heals', async () => {
  rig.startEditing()
  await sleep(1_000)
  const silentAt = Date.now()
  rig.redisProxies[0]!.blackhole()
  await waitFor(() => rig.firstDown(0, 'log', silentAt) !== null, FAULT_MS, 'node 0 reports the log down')
  const detected = rig.firstDown(0, 'log', silentAt)! - silentAt
  await sleep(silentAt + FAULT_MS - Date.now())
  const healedAt = Date.now()
  rig.redisProxies[0]!.heal()
  expect(rig.readiness.filter((r) => r.node === 1 && r.at >= silentAt && r.at < healedAt).every((r) => r.log === 'up')).toBe(true)
  await assertRecovered(rig, 'redis silent')
  report('redis silent (node 0)', { 'lasted ms': healedAt - silentAt, 'detected ms': detected, strokes: rig.drawn.length, 'chat acknowledged': rig.acknowledged.size })
  expect(detected).toBeLessThan(10_000) // the bound for /readyz
}, 150_000)
