/**
 * History records each edit once, even when a compaction fails after it recorded them (issue 19,
 * finding 9). A compaction records the edits it folds before it saves the snapshot; if the save
 * then fails, the retry folds the same updates again and must not record them a second time (the
 * room marks them recorded before the save). The save fails through a wrapper on the snapshot
 * store: a store that fails between two writes of one compaction cannot be had otherwise here
 * (taking MongoDB away fails the edit records' write too). Real server, stock clients, REST.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import type { EditRecord, SnapshotStore } from '../../server/storage/types.ts'
import { roomDoc, sameContent } from '../helpers/docs.ts'
import { useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'

// Nothing compacts by itself but the retry after the failure (its backoff is a second).
const ctx = useHistoryServer(() => ({ compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000, versionIntervalMs: 3_600_000 }), { bob: 'Bob' })

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
  expect((await ctx.api('POST', `/groups/${ctx.fx.group.id}/versions`, { token: ctx.fx.token, body: { doc: 'canvas', name: 'Empty' } })).status).toBe(201)
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
  const annStroke = addStroke(ann.doc, { author: ctx.fx.owner.id, color: '#a00001', width: 3, tool: 'pen', points: [[0, 0]] })
  for (let i = 1; i <= 20; i++) appendPoints(annStroke, [[i, i]])
  addStroke(bobs.doc, { author: ctx.members.bob.id, color: '#b00001', width: 3, tool: 'pen', points: [[5, 5], [6, 6]] })
  const erased = addStroke(bobs.doc, { author: ctx.members.bob.id, color: '#b00002', width: 3, tool: 'pen', points: [[7, 7]] })
  eraseStroke(bobs.doc, erased.get('id') as string)
  await waitFor(() => readStrokes(ann.doc).length === 2 && sameContent(ann.doc, bobs.doc), 10_000, 'both clients hold every stroke')
  const room = ctx.server.app.collab.registry.get(ctx.fx.canvas)!
  await waitFor(() => sameContent(roomDoc(room), ann.doc), 10_000, 'the room holds every edit')
  expect(await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })).toEqual([]) // nothing recorded yet

  // The first save of a snapshot fails (after the edit records were written); later ones go through.
  const snapshots = ctx.server.app.storage.snapshots as SnapshotStore
  const save = snapshots.save.bind(snapshots)
  let saves = 0
  snapshots.save = async (name, update, watermark) => {
    if (name === ctx.fx.canvas && saves++ === 0) throw new Error('injected: the snapshot store failed this save')
    return save(name, update, watermark)
  }

  await expect(ctx.server.app.collab.compactor.compactHot(room)).rejects.toThrow('injected')
  const recordedByFailedRun = await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })
  expect(recordedByFailedRun.map((r) => r.user).sort()).toEqual([ctx.fx.owner.id, ctx.members.bob.id].sort()) // the records came before the save
  // The compactor retries by itself (after its backoff) and the snapshot is saved.
  await waitFor(async () => (await ctx.server.app.storage.snapshots.watermark(ctx.fx.canvas)) !== null, 15_000, 'the retried compaction saved a snapshot')
  expect(saves).toBeGreaterThanOrEqual(2)

  const records = await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })
  const clockCount = (doc: Y.Doc): number => Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0
  // Every clock each writer created is credited to her once: not twice, not missing.
  expect(creditedClocks(records, ctx.fx.owner.id, ann.doc.clientID)).toBe(clockCount(ann.doc))
  expect(creditedClocks(records, ctx.members.bob.id, bobs.doc.clientID)).toBe(clockCount(bobs.doc))
  expect(overlapping(records, ctx.fx.owner.id)).toBe(false)
  expect(overlapping(records, ctx.members.bob.id)).toBe(false)
  // Bob's erasure is recorded once too: the records hold exactly what the failed run recorded.
  expect(deletedItems(records, ctx.members.bob.id)).toBe(deletedItems(recordedByFailedRun, ctx.members.bob.id))
  expect(deletedItems(records, ctx.members.bob.id)).toBeGreaterThan(0)
  expect(records).toHaveLength(recordedByFailedRun.length)
})
