/**
 * Redis without persistence restarted: it comes back EMPTY. What survives (README, "Faults"):
 * everything already in a MongoDB snapshot, every update a hot room holds in memory, and every
 * update a client holds (clients re-send what a node lacks when they resync). What is lost is
 * only what was in Redis alone. The hot rooms log again what they hold beyond their snapshot, so
 * what was acknowledged is durable again, in the log, once the log is back.
 *
 * This test shows that last claim, with nothing else to carry the data: it checks the live nodes
 * as after every fault (`assertServing`), then takes every other copy away. Every client goes
 * (none of them ever sent the server what it had been served, `resent`, so none of them put
 * anything back); the rooms leave memory without a compaction, because a stand-in holds both
 * rooms' compaction leases from the moment Redis is back (no node can fold its memory into a
 * snapshot); and fresh readers then load the rooms from snapshot + log. What the fault took from
 * the log — acknowledged strokes not in the snapshot — must be there: only the hot rooms' relog
 * can have put it back. Then the leases go and the snapshots must equal the readers.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createClient } from '@redis/client'
import type * as Y from 'yjs'
import { readStrokes } from '../../shared/canvas.ts'
import type { ServerProcess } from '../helpers/process.ts'
import { sleep, waitFor } from '../helpers/wait.ts'
import {
  assertPostStatuses, assertReadersHold, assertServing, assertStored, closeFigures, durableView, FAULT_MS, postFigures, REDIS_DETECT_MS, report, startFaultRig, type FaultRig,
} from './harness.ts'

let rig: FaultRig

beforeAll(async () => {
  rig = await startFaultRig({ persistentRedis: false })
}, 90_000)

afterAll(async () => {
  await rig?.close()
})

const LEASE_HOLDER = 'fault-test-stand-in'

async function roomsLoaded(node: ServerProcess): Promise<number> {
  const metrics = await (await fetch(`${node.url}/metrics`)).text()
  const loaded = /^collab_rooms_loaded (\d+)$/m.exec(metrics)
  if (!loaded) throw new Error('collab_rooms_loaded missing from /metrics')
  return Number(loaded[1])
}

/** Strokes acknowledged before `before` that the stored canvas snapshot lacks. */
function unsnapshotted(stored: Y.Doc | null, before: number): number {
  const inSnapshot = new Set(stored ? readStrokes(stored).map((s) => s.id) : [])
  return rig.acknowledgedStrokes().filter((s) => s.ackedAt! < before && !inSnapshot.has(s.id)).length
}

it('loses nothing acknowledged when Redis comes back empty: the hot rooms log it again', async () => {
  expect(REDIS_DETECT_MS).toBeLessThan(FAULT_MS / 2)
  const label = 'redis restarted empty'
  const rooms = [rig.group.rooms.canvas, rig.group.rooms.chat]
  rig.startEditing()
  await rig.untilAcknowledged()
  // Redis dies while the log holds acknowledged strokes no snapshot has yet (checked again below).
  const before = await durableView(rig.cluster.env)
  try {
    await waitFor(async () => unsnapshotted(await before.snapshot(rig.group.rooms.canvas), Date.now()) >= 5, 20_000, 'acknowledged strokes not in a snapshot yet')
  } finally {
    await before.close()
  }
  const stoppedAt = Date.now()
  await rig.cluster.redis.stop('SIGKILL')
  await waitFor(() => [0, 1].every((n) => rig.firstUnready(n, 'log', stoppedAt) !== null), REDIS_DETECT_MS + 2_000, 'every node reports the log down')
  const detected = [0, 1].map((n) => rig.firstUnready(n, 'log', stoppedAt)! - stoppedAt)
  expect(Math.max(...detected), '/readyz said the log is down within the Redis deadline and a probe interval').toBeLessThanOrEqual(REDIS_DETECT_MS)
  await sleep(stoppedAt + FAULT_MS - Date.now())

  // Redis comes back empty; the nodes reach it only once the stand-in holds both leases.
  const restartAt = Date.now()
  for (const proxy of rig.redisProxies) proxy.blackhole()
  await rig.cluster.redis.start()
  const redis = createClient({ url: rig.cluster.redis.url })
  await redis.connect()
  try {
    try {
      expect(await redis.dbSize()).toBe(0) // Redis really came back empty
      for (const room of rooms) {
        expect(await redis.set(`collab:lease:${room}`, LEASE_HOLDER, { condition: 'NX', expiration: { type: 'PX', value: 300_000 } })).toBe('OK')
      }
    } finally {
      for (const proxy of rig.redisProxies) proxy.heal()
    }

    // The fault took something: acknowledged strokes that were in the log and in no snapshot.
    const durable = await durableView(rig.cluster.env)
    let onlyInTheLog: number
    try {
      onlyInTheLog = unsnapshotted(await durable.snapshot(rig.group.rooms.canvas), stoppedAt)
    } finally {
      await durable.close()
    }
    expect(onlyInTheLog, 'acknowledged strokes only the log (and the hot rooms) held when Redis died').toBeGreaterThan(0)

    await assertServing(rig, label)
    assertPostStatuses(rig, label, { faultAt: stoppedAt, logDown: { nodes: [0, 1], until: restartAt } })
    const closes = closeFigures(rig)

    // Every copy but the log's goes: the clients, then the rooms' memory (no compaction can run).
    rig.dropClients()
    await waitFor(async () => (await Promise.all(rig.cluster.live().map(roomsLoaded))).every((n) => n === 0), 20_000, `${label}: the rooms left memory on every node`)
    for (const room of rooms) expect(await redis.get(`collab:lease:${room}`)).toBe(LEASE_HOLDER) // no node compacted meanwhile
    const reloaded = await rig.connectFresh()
    await assertReadersHold(rig, `${label}, rooms loaded again from snapshot + log`, reloaded)

    await redis.del(rooms.map((room) => `collab:lease:${room}`))
    await assertStored(rig, label, reloaded)
    expect(rig.resent, `${label}: no client sent the server what it had served it`).toEqual([])
    report(label, {
      'lasted ms': restartAt - stoppedAt,
      'detected ms (per node)': detected.join('/'),
      'acknowledged strokes only in the log when it was lost': onlyInTheLog,
      'strokes acknowledged': rig.acknowledgedStrokes().length,
      ...postFigures(rig), 'sockets closed by the server': closes,
    })
  } finally {
    await redis.close()
  }
}, 180_000)
