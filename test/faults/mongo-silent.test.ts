/**
 * The network between one node and MongoDB goes silent for longer than every timer, then heals.
 * The node must say `storage: down` within MONGODB_TIMEOUT_MS plus a ping interval, keep
 * serving its hot rooms (the log is the durability point: its editors' strokes are still
 * acknowledged meanwhile, and chat posts taken), and once the path heals every update reaches
 * the snapshot.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sleep, waitFor } from '../helpers/wait.ts'
import {
  acknowledgedBetween, assertPostStatuses, assertRecovered, closeFigures, FAULT_MS, MONGO_DETECT_MS, postFigures, report, startFaultRig, type FaultRig,
} from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig()
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

it('notices a silent MongoDB path within seconds and snapshots everything once it heals', async () => {
  expect(MONGO_DETECT_MS).toBeLessThan(FAULT_MS / 2)
  rig.startEditing()
  await rig.untilAcknowledged()
  const silentAt = Date.now()
  rig.mongoProxies[0]!.blackhole()
  await waitFor(() => rig.firstUnready(0, 'storage', silentAt) !== null, MONGO_DETECT_MS + 2_000, 'node 0 reports storage down')
  const knownAt = rig.firstUnready(0, 'storage', silentAt)!
  expect(knownAt - silentAt, '/readyz said storage down within the MongoDB deadline and a ping interval').toBeLessThanOrEqual(MONGO_DETECT_MS)
  await sleep(silentAt + FAULT_MS - Date.now())
  const healedAt = Date.now()
  rig.mongoProxies[0]!.heal()
  // Hot rooms kept taking edits: strokes drawn on the node without MongoDB were logged and echoed meanwhile.
  const ackedMeanwhile = acknowledgedBetween(rig, 0, knownAt, healedAt)
  expect(ackedMeanwhile).toBeGreaterThanOrEqual(10)
  await assertRecovered(rig, 'mongodb silent')
  report('mongodb silent (node 0)', {
    'lasted ms': healedAt - silentAt, 'detected ms': knownAt - silentAt, 'strokes acknowledged on node 0 while storage was down': ackedMeanwhile,
    'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig),
  })
  assertPostStatuses(rig, 'mongodb silent', { faultAt: silentAt })
}, 150_000)
