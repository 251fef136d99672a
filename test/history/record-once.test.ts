/**
 * History records each edit once, even when a compaction fails after it recorded them (issue 19,
 * finding 9). A compaction records the edits it folds before it saves the snapshot; if the save
 * then fails, the retry folds the same updates again and must not record them a second time (the
 * room marks them recorded before the save). The save fails through a wrapper on the snapshot
 * store: a store that fails between two writes of one compaction cannot be had otherwise here
 * (taking MongoDB away fails the edit records' write too). Real server, stock clients, REST.
 */
import { afterEach, beforeEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import type { EditRecord, SnapshotStore } from '../../server/storage/types.ts'
import { addMember, groupFixture, injectApi, registerUser, type Api, type GroupFixture, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { roomDoc, sameContent } from '../helpers/docs.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let dir: Awaited<ReturnType<typeof tempDir>>
let server: TestServer
let api: Api
let fx: GroupFixture
let bob: TestUser
const clients: Client[] = []

beforeEach(async () => {
  dir = await tempDir()
  // Nothing compacts by itself but the retry after the failure (its backoff is a second).
  server = await startServer({ dataDir: dir.path, compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000, versionIntervalMs: 3_600_000 })
  api = injectApi(server.app)
  fx = await groupFixture(api, 'Ann')
  bob = await registerUser(api, 'Bob')
  await addMember(api, fx.owner, fx.group.id, bob)
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await server.close()
  await dir.remove()
})

async function client(user: { token: string }): Promise<Client> {
  const connected = await connectSynced(server.collabUrl, fx.canvas, { token: user.token })
  clients.push(connected)
  return connected
}

/** Clocks of `client` that the records credit to `user`, counted with repeats. */
function creditedClocks(records: EditRecord[], user: string, client: number): number {
  return records.filter((r) => r.user === user).flatMap((r) => r.created).filter(([c]) => c === client).reduce((sum, [, first, end]) => sum + (end - first), 0)
}

/** Whether any two records of `user` credit the same clock of one client. */
function overlapping(records: EditRecord[], user: string): boolean {
  const ranges = records.filter((r) => r.user === user).flatMap((r) => r.created).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  return ranges.some((range, i) => i > 0 && ranges[i - 1]![0] === range[0] && range[1] < ranges[i - 1]![2])
}

/** Deletions the records of `user` hold, as the set of deleted (client, clock) items. */
function deletedItems(records: EditRecord[], user: string): number {
  let count = 0
  for (const record of records.filter((r) => r.user === user)) {
    const deletes = Y.decodeUpdate(record.deleted).ds
    for (const items of deletes.clients.values()) for (const item of items) count += item.len
  }
  return count
}

it('records each edit once when the snapshot save after the records fails and the compaction retries', async () => {
  // A version before anyone draws: the compaction keeps no new one (the interval is an hour), so
  // it prunes none of the records it writes (records older than every version are pruned).
  expect((await api('POST', `/groups/${fx.group.id}/versions`, { token: fx.token, body: { doc: 'canvas', name: 'Empty' } })).status).toBe(201)
  const ann = await client(fx.owner)
  const bobs = await client(bob)
  const annStroke = addStroke(ann.doc, { author: fx.owner.id, color: '#a00001', width: 3, tool: 'pen', points: [[0, 0]] })
  for (let i = 1; i <= 20; i++) appendPoints(annStroke, [[i, i]])
  addStroke(bobs.doc, { author: bob.id, color: '#b00001', width: 3, tool: 'pen', points: [[5, 5], [6, 6]] })
  const erased = addStroke(bobs.doc, { author: bob.id, color: '#b00002', width: 3, tool: 'pen', points: [[7, 7]] })
  eraseStroke(bobs.doc, erased.get('id') as string)
  await waitFor(() => readStrokes(ann.doc).length === 2 && sameContent(ann.doc, bobs.doc), 10_000, 'both clients hold every stroke')
  const room = server.app.collab.registry.get(fx.canvas)!
  await waitFor(() => sameContent(roomDoc(room), ann.doc), 10_000, 'the room holds every edit')
  expect(await server.app.storage.edits.list(fx.canvas, { since: 0 })).toEqual([]) // nothing recorded yet

  // The first save of a snapshot fails (after the edit records were written); later ones go through.
  const snapshots = server.app.storage.snapshots as SnapshotStore
  const save = snapshots.save.bind(snapshots)
  let saves = 0
  snapshots.save = async (name, update, watermark) => {
    if (name === fx.canvas && saves++ === 0) throw new Error('injected: the snapshot store failed this save')
    return save(name, update, watermark)
  }

  await expect(server.app.collab.compactor.compactHot(room)).rejects.toThrow('injected')
  const recordedByFailedRun = await server.app.storage.edits.list(fx.canvas, { since: 0 })
  expect(recordedByFailedRun.map((r) => r.user).sort()).toEqual([fx.owner.id, bob.id].sort()) // the records came before the save
  // The compactor retries by itself (after its backoff) and the snapshot is saved.
  await waitFor(async () => (await server.app.storage.snapshots.watermark(fx.canvas)) !== null, 15_000, 'the retried compaction saved a snapshot')
  expect(saves).toBeGreaterThanOrEqual(2)

  const records = await server.app.storage.edits.list(fx.canvas, { since: 0 })
  const clockCount = (doc: Y.Doc): number => Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0
  // Every clock each writer created is credited to her once: not twice, not missing.
  expect(creditedClocks(records, fx.owner.id, ann.doc.clientID)).toBe(clockCount(ann.doc))
  expect(creditedClocks(records, bob.id, bobs.doc.clientID)).toBe(clockCount(bobs.doc))
  expect(overlapping(records, fx.owner.id)).toBe(false)
  expect(overlapping(records, bob.id)).toBe(false)
  // Bob's erasure is recorded once too: the records hold exactly what the failed run recorded.
  expect(deletedItems(records, bob.id)).toBe(deletedItems(recordedByFailedRun, bob.id))
  expect(deletedItems(records, bob.id)).toBeGreaterThan(0)
  expect(records).toHaveLength(recordedByFailedRun.length)
})
