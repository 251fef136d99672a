/**
 * The network between one node and MongoDB goes silent for longer than every timer, then heals.
 * The node must say `storage: down` within MONGODB_TIMEOUT_MS plus a ping interval, keep
 * serving its hot rooms (the log is the durability point), and once the path heals every
 * update reaches the snapshot.
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

it('notices a silent MongoDB path within seconds and snapshots everything once it heals', async () => {
  rig.startEditing()
  await sleep(1_000)
  const silentAt = Date.now()
  rig.mongoProxies[0]!.blackhole()
  await waitFor(() => rig.firstDown(0, 'storage', silentAt) !== null, FAULT_MS, 'node 0 reports storage down')
  const detected = rig.firstDown(0, 'storage', silentAt)! - silentAt
  const strokesBefore = rig.drawn.length
  await sleep(silentAt + FAULT_MS - Date.now())
  expect(rig.drawn.length).toBeGreaterThan(strokesBefore) // clients kept drawing meanwhile
  const healedAt = Date.now()
  rig.mongoProxies[0]!.heal()
  await assertRecovered(rig, 'mongodb silent')
  report('mongodb silent (node 0)', { 'lasted ms': healedAt - silentAt, 'detected ms': detected, strokes: rig.drawn.length, 'chat acknowledged': rig.acknowledged.size })
  expect(detected).toBeLessThan(10_000)
}, 150_000)
