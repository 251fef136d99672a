/**
 * Edit records (who changed what, per minute) are what a rollback reads once a compaction has
 * folded a user's edits out of the room. They are pruned only past the history horizon: older
 * than every kept version *and* older than versions are kept at all (VERSION_RETENTION's hourly
 * age). A room's first compaction keeps its first version right after recording the edits it
 * folds; pruning at "older than the oldest version" alone would drop every record just written,
 * and a rollback of the last minutes would answer 200 having removed nothing.
 * Real server (both storage backends), stock clients, REST; the compaction is run when the test
 * says (nothing compacts by itself), and is awaited to its end (records, snapshot, version, prune).
 */
import { describe, expect, it } from 'vitest'
import type { RollbackResponse, VersionListResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { BACKENDS } from '../helpers/backends.ts'
import type { Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'

const MINUTE = 60_000

describe.each(BACKENDS)('edit records at a first compaction, on $name storage', ({ fresh }) => {
  // Nothing compacts by itself (the test says when); the default retention ("1d,30d").
  const ctx = useHistoryServer(() => ({ ...fresh(), compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000, versionIntervalMs: 3_600_000 }), { bob: 'Bob' })

  it('keeps the records a rollback of the last minutes needs: the user\'s strokes still go', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#b00001', 40))
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#b00002', 50))
    await waitFor(() => readStrokes(ann.doc).length === 3 && sameContent(ann.doc, bobs.doc), 10_000, 'everyone has the three strokes')
    const room = ctx.server.app.collab.registry.get(ctx.fx.canvas)!
    await waitFor(() => room.bytes.contents().since.filter((a) => a.writer === ctx.members.bob.id).length === 2, 10_000, 'Bob\'s strokes held in the room')
    // No version and no edit record yet: the compaction below is the room's first.
    expect((await ctx.api<VersionListResponse>('GET', `/groups/${ctx.fx.group.id}/versions?doc=canvas`, { token: ctx.fx.token })).body.versions).toEqual([])
    expect(await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })).toEqual([])

    await ctx.server.app.collab.compactor.compactHot(room) // records the edits, saves, keeps a version, prunes

    // It kept the first version (so pruning ran) and folded Bob's strokes out of the room: only
    // the edit records say what he did now.
    const versions = (await ctx.api<VersionListResponse>('GET', `/groups/${ctx.fx.group.id}/versions?doc=canvas`, { token: ctx.fx.token })).body.versions
    expect(versions).toHaveLength(1)
    expect(versions[0]!.authors.map((a) => a.name).sort()).toEqual(['Ann', 'Bob'])
    expect(room.bytes.contents().since.filter((a) => !a.recorded)).toEqual([])

    const rolled = await ctx.api<RollbackResponse>('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.fx.token, body: { doc: 'canvas', userId: ctx.members.bob.id, since: Date.now() - 10 * MINUTE } })
    expect(rolled.status).toBe(200)
    expect(rolled.body.removed.map((r) => r.kind)).toEqual(['stroke', 'stroke'])
    const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).join()
    await waitFor(() => colors(ann) === '#a00001' && colors(bobs) === '#a00001', 10_000, 'both see Bob\'s strokes gone, Ann\'s kept')
    expect(readStrokes(ann.doc)[0]!.author).toBe(ctx.fx.owner.id)
    // What the rollback read: the records written at the compaction, which survived its prune.
    const records = await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })
    expect(records.map((r) => r.user).sort()).toEqual([ctx.members.bob.id, ctx.fx.owner.id].sort())
  })
})
