/**
 * Rolling back one person reads what they did from two places: the edit records (what compaction
 * recorded) and what the room holds that no record has yet. A compaction in between moves edits
 * from the second into the first; read in the wrong order, they are in neither, and the rollback
 * answers 200 having removed nothing. Here a compaction of the room runs right when the service's
 * read of the edit records resolves, before it goes on: Bob's strokes, not compacted before the
 * rollback began, must still go. The same with the compaction right before that read (the edits
 * are then in both places: taken once). Real server, stock clients, REST.
 */
import { describe, expect, it } from 'vitest'
import type { RollbackResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import type { Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'
import type { EditStore } from '../../server/storage/types.ts'

// Nothing compacts by itself: the test says when.
const ctx = useHistoryServer(() => ({ compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000, versionIntervalMs: 3_600_000 }), { bob: 'Bob' })

/**
 * Makes the next `list` of `room`'s edit records compact the room: once its answer is read and
 * before the caller gets it (`after`), or before it reads (`before`).
 */
function compactAtNextList(room: string, when: 'after' | 'before'): { readonly ran: boolean } {
  const edits = ctx.server.app.storage.edits as EditStore
  const list = edits.list.bind(edits)
  let armed = true
  let ran = false
  const compact = async (): Promise<void> => {
    armed = false
    await ctx.server.app.collab.compactor.compactHot(ctx.server.app.collab.registry.get(room)!)
    ran = true
  }
  edits.list = async (name, options) => {
    const racing = armed && name === room
    if (racing && when === 'before') await compact()
    const records = await list(name, options)
    if (racing && when === 'after') await compact()
    return records
  }
  return { get ran() { return ran } }
}

function unrecordedOf(room: string, user: string): number {
  return ctx.server.app.collab.registry.get(room)!.bytes.contents().since.filter((a) => !a.recorded && a.writer === user).length
}

describe.each(['after', 'before'] as const)('a compaction %s the rollback reads the edit records', (when) => {
  it('removes the strokes of a user that a compaction records while the rollback reads', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    await waitFor(() => readStrokes(bobs.doc).length === 1)
    // A version before Bob draws: the compaction below keeps no new one (the interval is an hour),
    // so it does not prune the records it writes (edits older than every version are pruned).
    expect((await ctx.api('POST', `/groups/${ctx.fx.group.id}/versions`, { token: ctx.fx.token, body: { doc: 'canvas', name: 'Before Bob' } })).status).toBe(201)
    const since = Date.now()
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#b00001', 40))
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#b00002', 50))
    await waitFor(() => readStrokes(ann.doc).length === 3 && sameContent(ann.doc, bobs.doc), 10_000, 'everyone has the three strokes')
    await waitFor(() => unrecordedOf(ctx.fx.canvas, ctx.members.bob.id) > 0, 10_000, 'Bob\'s strokes held in the room')
    expect(await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })).toEqual([]) // not compacted yet

    const race = compactAtNextList(ctx.fx.canvas, when)
    const rolled = await ctx.api<RollbackResponse>('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.fx.token, body: { doc: 'canvas', userId: ctx.members.bob.id, since } })
    expect(race.ran).toBe(true) // the compaction ran in the middle of the rollback...
    expect(unrecordedOf(ctx.fx.canvas, ctx.members.bob.id)).toBe(0) // ...and recorded Bob's strokes
    expect((await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: 0 })).some((r) => r.user === ctx.members.bob.id)).toBe(true)

    expect(rolled.status).toBe(200)
    expect(rolled.body.removed.map((r) => r.kind)).toEqual(['stroke', 'stroke'])
    const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).join()
    await waitFor(() => colors(ann) === '#a00001' && colors(bobs) === '#a00001', 10_000, 'both see Bob\'s strokes gone')
    expect(readStrokes(ann.doc)[0]!.author).toBe(ctx.fx.owner.id)
  })
})
