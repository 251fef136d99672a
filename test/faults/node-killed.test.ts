/**
 * A node is killed with SIGKILL while a compaction of the shared room is under way (the lease
 * is held, by it or by the other node). Its clients reconnect through the balancer to the
 * survivor; if it held the lease, the lease lapses after COMPACT_LEASE_TTL_MS and the survivor
 * compacts. Everything acknowledged, on either node, is served by the survivor and reaches the
 * snapshot.
 */
import { afterAll, beforeAll, it } from 'vitest'
import { createClient } from '@redis/client'
import { sleep, waitFor } from '../helpers/wait.ts'
import { assertPostStatuses, assertRecovered, closeFigures, FAULT_MS, postFigures, report, startFaultRig, type FaultRig } from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig({ roaming: true })
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

it('loses nothing when a node is killed during a compaction of its room', async () => {
  rig.startEditing()
  await rig.untilAcknowledged()
  const redis = createClient({ url: rig.cluster.redis.url })
  await redis.connect()
  try {
    await waitFor(async () => (await redis.keys('collab:lease:*')).length > 0, 30_000, 'a compaction under way')
  } finally {
    await redis.close()
  }
  const killedAt = Date.now()
  await rig.cluster.killNode(0, 'SIGKILL')
  rig.balancer.setBackends(rig.cluster.live().map((node) => node.port))
  await sleep(killedAt + FAULT_MS - Date.now()) // longer than the lease TTL and every other timer
  await waitFor(() => rig.editors.every((c) => c.provider.wsconnected), 20_000, 'the killed node\'s clients reconnected to the survivor')
  await assertRecovered(rig, 'node killed during compaction')
  report('node killed during compaction', { 'edits since kill ms': Date.now() - killedAt, 'strokes acknowledged': rig.acknowledgedStrokes().length, ...postFigures(rig), 'sockets closed by the server': closeFigures(rig) })
  assertPostStatuses(rig, 'node killed during compaction', { faultAt: killedAt, killed: 0 })
}, 150_000)
