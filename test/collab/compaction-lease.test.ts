/**
 * The compaction lease, as a hot room's compactions meet it (issue 19, finding 7). A compaction
 * that held the lease reports so, and its follow-up runs: updates that entered while it folded,
 * enough for the next compaction, are compacted right after it without waiting for another
 * update. A compaction that met the lease held by another node reports that too: the room tries
 * the lease again when its timer says so, not on every batch that enters meanwhile (each try is a
 * `SET NX` on Redis), and compacts once the lease is free.
 *
 * Real server on a private Redis (its RedisLease) and the run's MongoDB; the other node's lease
 * is a second RedisLease on its own connections. Tries are counted at the node's lease port.
 */
import pino from 'pino'
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest'
import { addStroke, appendPoints } from '../../shared/canvas.ts'
import { BackgroundFailures } from '../../server/background-loop.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { RedisLease } from '../../server/cluster/redis-lease.ts'
import type { CompactionLease } from '../../server/collab/compaction/compaction-lease.ts'
import type { CompactorDeps } from '../../server/collab/compaction/compactor.ts'
import type { Room } from '../../server/collab/room/room.ts'
import { compareLogIds } from '../../server/log/log-id.ts'
import type { SnapshotStore } from '../../server/storage/types.ts'
import { groupFixture, injectApi, type GroupFixture } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { docJson, roomDoc, sameContent } from '../helpers/docs.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { snapshotDoc } from '../helpers/snapshot-doc.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const EVERY = 5
const silent = pino({ level: 'silent' })

let redis: RedisServer
let dir: Awaited<ReturnType<typeof tempDir>>
let server: TestServer
let prefix: string
let fx: GroupFixture
const clients: Client[] = []
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
}, 30_000)

afterAll(async () => {
  await redis?.destroy()
})

/**
 * The node: compactions run at EVERY updates and `idleMs` after the last one; the idle timer is
 * also when a room tries again a lease another node held. An hour by default: every try seen
 * then comes from updates entering (or the room leaving memory).
 */
async function startNode(idleMs = 3_600_000): Promise<void> {
  dir = await tempDir()
  prefix = `lease-${Math.random().toString(36).slice(2)}:`
  server = await startServer({
    dataDir: dir.path, redisUrl: redis.url, redisPrefix: prefix, mongodbUrl: inject('mongoUrl'), mongodbDb: uniqueDbName(),
    compactEveryUpdates: EVERY, compactIdleMs: idleMs, versionIntervalMs: 3_600_000,
  })
  fx = await groupFixture(injectApi(server.app))
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  for (const close of closers.splice(0).reverse()) await close()
  await server?.close()
  await dir?.remove()
  server = undefined!
  dir = undefined!
})

/** Counts the node's tries to take a room's lease (each one a SET NX), at its lease port. */
function countLeaseTries(): { tries(room: string): number } {
  const deps = (server.app.collab.compactor as unknown as { deps: CompactorDeps }).deps
  const lease = deps.lease
  const tries = new Map<string, number>()
  const counting: CompactionLease = {
    withLease: (room, task) => {
      tries.set(room, (tries.get(room) ?? 0) + 1)
      return lease.withLease(room, task)
    },
  }
  deps.lease = counting
  return { tries: (room) => tries.get(room) ?? 0 }
}

/** Another node's compaction of `room`, holding its lease until `release` is called. */
async function otherNodeHoldsLease(room: string): Promise<{ release(): Promise<void> }> {
  const clients = await RedisClients.connect(redis.url, silent)
  closers.push(() => clients.close())
  const lease = new RedisLease(clients, { prefix, ttlMs: 30_000, logger: silent, failures: new BackgroundFailures() })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let holding!: () => void
  const held = new Promise<void>((resolve) => { holding = resolve })
  const compaction = lease.withLease(room, async () => {
    holding()
    await released
    return true
  })
  const taken = await Promise.race([held.then(() => true), compaction.then(() => false)])
  expect(taken, 'the other node took the lease').toBe(true)
  closers.push(async () => {
    release()
    await compaction
  })
  return {
    release: async () => {
      release()
      expect(await compaction).toBe(true)
    },
  }
}

/** The owner's synced client on the canvas, with a first stroke started (one point) in `color`, and the canvas's room. */
async function startStroke(color: string): Promise<{ client: Client; stroke: ReturnType<typeof addStroke>; room: Room }> {
  const client = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(client)
  const stroke = addStroke(client.doc, { author: fx.owner.id, color, width: 2, tool: 'pen', points: [[0, 0]] })
  const room = server.app.collab.registry.get(fx.canvas)!
  return { client, stroke, room }
}

/** Draws `count` more points, one update at a time, each entered in the room before the next. */
async function drawOneByOne(client: Client, stroke: ReturnType<typeof addStroke>, room: Room, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    appendPoints(stroke, [[i, i]])
    await waitFor(() => sameContent(roomDoc(room), client.doc), 10_000, 'the update entered the room')
  }
}

it('a non-holder does not try the lease on every batch, and compacts once the lease is free', async () => {
  await startNode()
  const leases = countLeaseTries()
  const other = await otherNodeHoldsLease(fx.canvas)
  const { client, stroke, room } = await startStroke('#224466')
  await waitFor(() => sameContent(roomDoc(room), client.doc), 10_000, 'the first stroke entered')
  await drawOneByOne(client, stroke, room, EVERY) // the room reaches its compaction threshold
  await waitFor(() => leases.tries(fx.canvas) > 0, 10_000, 'the compaction tried the lease')
  expect(leases.tries(fx.canvas)).toBe(1)

  // Thirty more batches enter while the other node holds the lease: none of them tries it again.
  await drawOneByOne(client, stroke, room, 6 * EVERY)
  expect(room.foldable).toBeGreaterThanOrEqual(EVERY) // each was a reason to compact...
  expect(leases.tries(fx.canvas)).toBe(1) // ...but the lease was not tried on any of them
  expect(await server.app.storage.snapshots.watermark(fx.canvas)).toBeNull() // nor was the room compacted

  // The lease is free: the room compacts (here when it leaves memory), and the snapshot holds everything.
  await other.release()
  const expected = docJson(client.doc)
  client.destroy()
  clients.length = 0
  const stored = await waitFor(() => server.app.storage.snapshots.load(fx.canvas), 10_000, 'a snapshot once the lease was free')
  expect(docJson(snapshotDoc(stored.update))).toEqual(expected)
  expect(leases.tries(fx.canvas)).toBe(2)
})

it('a holder compacts again at once when updates that entered during its compaction call for it', async () => {
  await startNode()
  const leases = countLeaseTries()
  const { client, stroke, room } = await startStroke('#664422')
  await waitFor(() => sameContent(roomDoc(room), client.doc), 10_000, 'the first stroke entered')

  // The first snapshot's save waits until the test has written EVERY more updates.
  const snapshots = server.app.storage.snapshots as SnapshotStore
  const save = snapshots.save.bind(snapshots)
  let saves = 0
  let open!: () => void
  const gate = new Promise<void>((resolve) => { open = resolve })
  snapshots.save = async (name, update, watermark) => {
    if (name === fx.canvas && saves++ === 0) await gate
    return save(name, update, watermark)
  }
  await drawOneByOne(client, stroke, room, EVERY) // reaches the threshold: the compaction starts
  await waitFor(() => saves === 1, 10_000, 'the first compaction is saving')
  await drawOneByOne(client, stroke, room, EVERY) // enough for the next one, entered while it saves
  const last = room.watermark
  open()

  // No more updates come: the follow-up of the first compaction must start the second.
  await waitFor(async () => {
    const stored = await server.app.storage.snapshots.watermark(fx.canvas)
    return stored !== null && compareLogIds(stored, last) >= 0
  }, 10_000, 'a second snapshot covering the updates written during the first')
  expect(saves).toBe(2)
  expect(leases.tries(fx.canvas)).toBe(2)
  const stored = await server.app.storage.snapshots.load(fx.canvas)
  expect(docJson(snapshotDoc(stored!.update))).toEqual(docJson(client.doc))
})

it('a non-holder tries the lease again when its timer fires, and compacts once it is free', async () => {
  await startNode(300)
  const leases = countLeaseTries()
  const other = await otherNodeHoldsLease(fx.canvas)
  const { client, stroke, room } = await startStroke('#446622')
  await drawOneByOne(client, stroke, room, EVERY)
  // Tried at the threshold, then again by the timer (no update comes meanwhile): still held.
  await waitFor(() => leases.tries(fx.canvas) >= 2, 10_000, 'the timer tried the lease again')
  expect(await server.app.storage.snapshots.watermark(fx.canvas)).toBeNull()

  await other.release()
  // The client stays: the room is still hot and compacts on its timer.
  const stored = await waitFor(() => server.app.storage.snapshots.load(fx.canvas), 10_000, 'a snapshot once the lease was free')
  expect(docJson(snapshotDoc(stored.update))).toEqual(docJson(client.doc))
  expect(server.app.collab.registry.isHot(fx.canvas)).toBe(true)
})
