import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { connectSynced } from '../helpers/clients.ts'
import { docJson, stateVector, roomDoc } from '../helpers/docs.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { snapshotDoc } from '../helpers/snapshot-doc.ts'
import { BACKENDS } from '../helpers/backends.ts'

describe.each(BACKENDS)('on $name storage', ({ fresh }) => {
  const ctx = useFreshServer(() => ({ ...fresh(), compactEveryUpdates: 50, compactIdleMs: 60_000, compactBatchEntries: 16 }))

  it('trims the log as updates accumulate, and a reload is identical', async () => {
    const client = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    const stroke = addStroke(client.doc, { author: ctx.fx.owner.id, color: '#336699', width: 2, tool: 'pen', points: [[0, 0]] })
    for (let i = 1; i <= 500; i++) appendPoints(stroke, [[i, i % 7]])
    await waitFor(() => readStrokes(roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!))[0]?.points.length === 501)

    // Updates are logged in batches (one entry per batch), so wait for a snapshot, then the trim.
    await waitFor(async () => (await ctx.server.app.storage.snapshots.watermark(ctx.fx.canvas)) !== null, 10_000, 'a snapshot')
    await waitFor(async () => (await ctx.server.app.updateLog.size(ctx.fx.canvas)) < 50, 10_000, 'log trimmed')

    const expectedJson = docJson(client.doc)
    const expectedVector = stateVector(client.doc)
    client.destroy()
    await waitFor(() => ctx.server.app.collab.registry.size === 0, 5_000, 'eviction')

    const reloaded = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    expect(docJson(reloaded.doc)).toEqual(expectedJson)
    expect(stateVector(reloaded.doc)).toEqual(expectedVector)
    reloaded.destroy()
  })

  it('a fresh client gets exactly the server\'s state while edits and compactions interleave', async () => {
    const writer = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    const live = (): Y.Doc => roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)
    for (let cycle = 0; cycle < 6; cycle++) {
      const stroke = addStroke(writer.doc, { author: ctx.fx.owner.id, color: '#336699', width: 2, tool: 'pen', points: [[cycle, 0]] })
      for (let i = 1; i <= 37; i++) appendPoints(stroke, [[cycle, i]]) // 38 updates: compactions start mid-burst
      if (cycle % 2 === 1) eraseStroke(writer.doc, readStrokes(writer.doc)[0]!.id)
      await waitFor(() => stateVector(live()) === stateVector(writer.doc) && JSON.stringify(docJson(live())) === JSON.stringify(docJson(writer.doc)))
      const fresh = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
      fresh.provider.disconnect() // what it has now came from the sync alone
      expect(docJson(fresh.doc)).toEqual(docJson(writer.doc))
      expect(stateVector(fresh.doc)).toEqual(stateVector(writer.doc))
      fresh.destroy()
    }
    writer.destroy()
  })

  it('a compaction starting while own writes are not yet behind the watermark loses none of them for fresh clients', async () => {
    const writer = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    const stroke = addStroke(writer.doc, { author: ctx.fx.owner.id, color: '#336699', width: 2, tool: 'pen', points: [[0, 0]] })
    for (let i = 1; i <= 5; i++) appendPoints(stroke, [[i, i]])
    const room = ctx.server.app.collab.registry.get(ctx.fx.canvas)!
    await waitFor(() => readStrokes(roomDoc(room))[0]?.points.length === 6 && room.entriesSinceSnapshot > 0)

    let compaction: Promise<void> | undefined
    // Entered on the append's answer but not yet read back from the log: the position is behind it.
    const onApplied = room.deps.onApplied
    room.deps.onApplied = (applied) => {
      onApplied(applied)
      compaction ??= ctx.server.app.collab.compactor.compactHot(room)
    }
    appendPoints(stroke, [[99, 99]])
    await waitFor(() => compaction !== undefined)
    await compaction

    const fresh = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    fresh.provider.disconnect()
    expect(readStrokes(fresh.doc)[0]?.points.at(-1)).toEqual([99, 99])
    expect(stateVector(fresh.doc)).toEqual(stateVector(writer.doc))
    fresh.destroy()
    writer.destroy()
  })

  it('folds a cold room\'s log into its snapshot in bounded batches', async () => {
    const cold = 'group-compact-2/canvas'
    const source = new Y.Doc()
    const updates: Uint8Array[] = []
    source.on('update', (update: Uint8Array) => updates.push(update))
    const stroke = addStroke(source, { author: ctx.fx.owner.id, color: '#000000', width: 1, tool: 'pen' })
    for (let i = 0; i < 100; i++) appendPoints(stroke, [[i, -i]])
    for (const update of updates) await ctx.server.app.updateLog.append(cold, [{ writer: 'test', update }])
    expect(await ctx.server.app.updateLog.size(cold)).toBe(101)

    await ctx.server.app.collab.compactor.compactCold(cold)

    expect(await ctx.server.app.updateLog.size(cold)).toBe(0)
    const snapshot = await ctx.server.app.storage.snapshots.load(cold)
    const restored = snapshotDoc(snapshot!.update)
    expect(docJson(restored)).toEqual(docJson(source))
    expect(stateVector(restored)).toEqual(stateVector(source))
  })
})
