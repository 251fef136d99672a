/**
 * Safe history over REST with stock clients: what a rollback undoes ("what shows as theirs": a
 * restore's copy of someone's stroke counts as theirs, unless it was on the canvas at the start
 * already), its preview (the same answer, nothing changed), the version it keeps first (restoring
 * it undoes the rollback), who made each version, and the activity every member's page polls
 * (notices of restores and rollbacks, the caller's role), on both storage backends.
 */
import { describe, expect, it } from 'vitest'
import type { ActivityResponse, RollbackPlanResponse, RollbackResponse, VersionListResponse, VersionResponse } from '../../shared/api.ts'
import { addStroke, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { BACKENDS } from '../helpers/backends.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'

describe.each(BACKENDS)('safe history on $name storage', ({ fresh }) => {
  const ctx = useHistoryServer(() => ({ ...fresh(), compactIdleMs: 100, versionIntervalMs: 3_600_000, roomGraceMs: 200 }), { cara: 'Cara', vera: { name: 'Vera', role: 'viewer' } })
  const group = (): string => ctx.fx.group.id
  const name = async (label: string): Promise<VersionResponse> => (await ctx.api<{ version: VersionResponse }>('POST', `/groups/${group()}/versions`, { token: ctx.fx.token, body: { doc: 'canvas', name: label } })).body.version
  const restore = async (id: string): Promise<VersionResponse> => {
    const reply = await ctx.api<{ preRestore: VersionResponse }>('POST', `/groups/${group()}/versions/${id}/restore`, { token: ctx.fx.token })
    expect(reply.status).toBe(200)
    return reply.body.preRestore
  }
  const body = (userId: string, since: number) => ({ doc: 'canvas', userId, since })
  const preview = (userId: string, since: number, token = ctx.fx.token) => ctx.api<RollbackPlanResponse>('POST', `/groups/${group()}/rollback/preview`, { token, body: body(userId, since) })
  const rollback = (userId: string, since: number) => ctx.api<RollbackResponse>('POST', `/groups/${group()}/rollback`, { token: ctx.fx.token, body: body(userId, since) })
  const activity = (token: string, after: number) => ctx.api<ActivityResponse>('GET', `/groups/${group()}/activity?after=${after}`, { token })
  const colors = (doc: import('yjs').Doc): string[] => readStrokes(doc).map((s) => s.color).sort()

  it('rolls back a person after a restore and its undo: the restore\'s copy of their stroke goes too (issue 23, item 3)', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    const since = Date.now()
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c00001', 10)) // S1
    await waitFor(() => readStrokes(owner.doc).length === 1)
    const v1 = await name('V1')
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c00002', 40)) // S2
    await waitFor(() => readStrokes(owner.doc).length === 2)
    const before = await restore(v1.id) // S2 goes
    await waitFor(() => readStrokes(cara.doc).length === 1)
    await restore(before.id) // S2 comes back, as a copy the owner's restore made
    await waitFor(() => readStrokes(cara.doc).length === 2)
    expect(readStrokes(owner.doc).every((s) => s.author === ctx.members.cara.id)).toBe(true) // both show as Cara's

    // The preview says what the rollback will do, and changes nothing.
    const plan = await preview(ctx.members.cara.id, since)
    expect(plan.status).toBe(200)
    expect(plan.body.removed.map((r) => r.author)).toEqual([ctx.members.cara.id, ctx.members.cara.id])
    expect(plan.body.restored).toEqual([])
    expect(readStrokes(owner.doc)).toHaveLength(2)

    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.status).toBe(200)
    expect(rolled.body.removed.map((r) => r.id).sort()).toEqual(plan.body.removed.map((r) => r.id).sort())
    await waitFor(() => readStrokes(owner.doc).length === 0 && readStrokes(cara.doc).length === 0, 10_000, 'both strokes gone for both')
    expect(rolled.body.before).toMatchObject({
      name: 'Before a rollback',
      made: { kind: 'rollback', by: { userId: ctx.fx.owner.id, name: 'Ann' }, user: { userId: ctx.members.cara.id, name: 'Cara' }, since: since - (since % 60_000) }, // edits count from the minute's start
    })

    // The rollback is undone by restoring what it kept.
    const undo = await restore(rolled.body.before.id)
    expect(undo.name).toBe('Before undoing a rollback')
    await waitFor(() => colors(cara.doc).join() === '#c00001,#c00002', 10_000, 'the rollback undone')
  })

  it('leaves a restore\'s copy alone when it was on the canvas at the start, and takes only what came since', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c00000', 10)) // S0, before the start
    await waitFor(() => readStrokes(owner.doc).length === 1)
    const v0 = await name('V0')
    const since = v0.createdAt + 1
    await waitFor(() => Date.now() > since)
    eraseStroke(owner.doc, readStrokes(owner.doc)[0]!.id)
    await waitFor(() => readStrokes(cara.doc).length === 0)
    await restore(v0.id) // S0 back, as the owner's copy made after the start
    await waitFor(() => readStrokes(cara.doc).length === 1)
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c00003', 60)) // S3, since the start
    await waitFor(() => readStrokes(owner.doc).length === 2)

    const plan = await preview(ctx.members.cara.id, since)
    expect(plan.body.removed).toHaveLength(1)
    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.body.removed).toEqual([{ kind: 'stroke', id: plan.body.removed[0]!.id }])
    await waitFor(() => colors(owner.doc).join() === '#c00000' && colors(cara.doc).join() === '#c00000', 10_000, 'only S3 gone')
  })

  // Whose erasure came last decides (helper's cases E, I and D, found from outside). No automatic
  // version falls between the steps (the interval is an hour): only the copies a restore lists
  // with the version it kept tie the copy's item to its stroke.
  it('keeps another member\'s erasure of a restored copy when rolling back the person who erased the original', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#b00001', 10)) // P, the owner's
    await waitFor(() => readStrokes(cara.doc).length === 1)
    const v = await name('V')
    const since = v.createdAt + 1
    await waitFor(() => Date.now() > since)
    eraseStroke(cara.doc, readStrokes(cara.doc)[0]!.id) // Cara erases P
    await waitFor(() => readStrokes(owner.doc).length === 0)
    await restore(v.id) // P back, as the owner's copy
    await waitFor(() => readStrokes(owner.doc).length === 1 && readStrokes(cara.doc).length === 1)
    eraseStroke(owner.doc, readStrokes(owner.doc)[0]!.id) // the owner erases the copy: the last erasure is the owner's
    await waitFor(() => readStrokes(cara.doc).length === 0)

    expect((await preview(ctx.members.cara.id, since)).body.restored).toEqual([])
    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.status).toBe(200)
    expect(rolled.body.restored).toEqual([])
    const fresh = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    expect(readStrokes(fresh.doc)).toEqual([])
  })

  it('brings a stroke back when the person rolled back erased its restored copy too', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#b00002', 10))
    await waitFor(() => readStrokes(cara.doc).length === 1)
    const v = await name('V')
    const since = v.createdAt + 1
    await waitFor(() => Date.now() > since)
    eraseStroke(cara.doc, readStrokes(cara.doc)[0]!.id)
    await waitFor(() => readStrokes(owner.doc).length === 0)
    await restore(v.id)
    await waitFor(() => readStrokes(cara.doc).length === 1)
    eraseStroke(cara.doc, readStrokes(cara.doc)[0]!.id) // Cara erases the copy as well
    await waitFor(() => readStrokes(owner.doc).length === 0)

    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.body.restored).toHaveLength(1)
    await waitFor(() => colors(owner.doc).join() === '#b00002', 10_000, 'the stroke back')
  })

  it('brings back nothing the person drew and erased since the time: both go', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    const since = Date.now()
    await waitFor(() => Date.now() > since)
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c00009', 10)) // S, since the time
    await waitFor(() => readStrokes(owner.doc).length === 1)
    await name('Holds S') // a version holds S: a rollback could find it there
    eraseStroke(cara.doc, readStrokes(cara.doc)[0]!.id)
    await waitFor(() => readStrokes(owner.doc).length === 0)

    expect((await preview(ctx.members.cara.id, since)).body.restored).toEqual([])
    expect((await rollback(ctx.members.cara.id, since)).body.restored).toEqual([])
    const fresh = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    expect(readStrokes(fresh.doc)).toEqual([])
  })

  // Edit records keep a person's edits per minute, so a rollback starts at the start of the
  // minute it is asked from: the same answer before and after a compaction records the room's
  // edits (found from outside: an erasure in the minute the rollback started was undone before
  // the compaction and forgotten after it).
  it('starts a rollback at the start of its minute, the same before and after the edits are recorded', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#b00003', 10)) // P, the owner's
    await waitFor(() => readStrokes(cara.doc).length === 1)
    await name('Holds P')
    await waitFor(() => Date.now() % 60_000 < 50_000, 15_000, 'a minute with room for the steps below') // the steps take a few hundred ms
    addStroke(cara.doc, pen(ctx.members.cara.id, '#c0000a', 10)) // A0: in the minute, before the time asked
    await waitFor(() => readStrokes(owner.doc).length === 2)
    const since = Date.now()
    await waitFor(() => Date.now() > since)
    eraseStroke(cara.doc, readStrokes(cara.doc).find((s) => s.color === '#b00003')!.id) // after it
    await waitFor(() => readStrokes(owner.doc).length === 1)

    const live = (await preview(ctx.members.cara.id, since)).body
    await waitFor(async () => (await ctx.server.app.storage.edits.list(ctx.fx.canvas, { since: since - 60_000 })).some((r) => r.user === ctx.members.cara.id && r.deleted.length > 2), 10_000, 'Cara\'s edits recorded')
    const recorded = (await preview(ctx.members.cara.id, since)).body
    expect(recorded).toEqual(live)
    expect(recorded.removed.map((r) => r.author)).toEqual([ctx.members.cara.id]) // A0 goes: it is in that minute
    expect(recorded.restored.map((r) => r.author)).toEqual([ctx.fx.owner.id]) // P comes back
    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.body.before.made?.since).toBe(since - (since % 60_000))
    await waitFor(() => colors(owner.doc).join() === '#b00003', 10_000, 'P back, A0 gone')
  })

  // Found from outside: a decoy under the victim's stroke id hid the erasure from the rollback.
  // The canvas rules now refuse a stroke under a live stroke's id (4422); the rollback still
  // brings the erased stroke back.
  it('refuses a decoy under a live stroke\'s id, and rolls back the erasure that followed it', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const decoyer = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#b00004', 10)) // P, the owner's
    await waitFor(() => readStrokes(decoyer.doc).length === 1)
    const v = await name('Holds P')
    const since = v.createdAt + 1
    await waitFor(() => Date.now() > since)
    const victim = readStrokes(decoyer.doc)[0]!
    addStroke(decoyer.doc, { ...pen(ctx.members.cara.id, '#c0000d', 20), id: victim.id }) // the decoy
    await waitFor(() => decoyer.closeEvents.some((e) => e.code === CloseCode.updateRefused), 10_000, 'the decoy refused')
    expect(colors(owner.doc).join()).toBe('#b00004')

    const cara = await ctx.client(ctx.fx.canvas, ctx.members.cara)
    eraseStroke(cara.doc, victim.id)
    await waitFor(() => readStrokes(owner.doc).length === 0)
    const rolled = await rollback(ctx.members.cara.id, since)
    expect(rolled.body.restored).toEqual([{ kind: 'stroke', id: victim.id }])
    await waitFor(() => colors(owner.doc).join() === '#b00004', 10_000, 'P back')
  })

  it('lists at most 1,000 copies with the version a restore keeps (a version record is read whole with every listing)', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const watcher = await ctx.client(ctx.fx.canvas, ctx.members.vera)
    owner.doc.transact(() => { for (let i = 0; i < 1_001; i++) addStroke(owner.doc, pen(ctx.fx.owner.id, '#a0a0a0', i)) })
    await waitFor(() => readStrokes(watcher.doc).length === 1_001, 15_000, 'the strokes logged')
    const full = await name('All of them')
    owner.doc.getArray('strokes').delete(0, 1_001)
    await waitFor(() => readStrokes(watcher.doc).length === 0, 15_000, 'the canvas emptied')
    const kept = await restore(full.id)
    await waitFor(() => readStrokes(owner.doc).length === 1_001, 15_000, 'every stroke back')
    const record = await ctx.server.app.storage.versions.get(ctx.fx.canvas, kept.id)
    expect(record?.made?.copies).toHaveLength(1_000)
  }, 60_000)

  it('names who made each version, never nesting "Before restoring"', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const vera = await ctx.client(ctx.fx.canvas, ctx.members.vera)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    await waitFor(() => readStrokes(vera.doc).length === 1)
    const named = await name('Draft')
    expect(named.made).toEqual({ kind: 'named', by: { userId: ctx.fx.owner.id, name: 'Ann' } })
    const first = await restore(named.id)
    expect(first.name).toBe('Before restoring "Draft"')
    expect(first.made).toEqual({ kind: 'restore', by: { userId: ctx.fx.owner.id, name: 'Ann' }, restored: { id: named.id, name: 'Draft' } })
    const second = await restore(first.id)
    expect(second.name).toBe('Before undoing the restore of "Draft"')
    const third = await restore(second.id)
    expect(third.name).toBe('Before undoing the restore of "before the restore of "Draft""')
    const list = await ctx.api<VersionListResponse>('GET', `/groups/${group()}/versions?doc=canvas`, { token: ctx.members.vera.token })
    expect(list.body.versions.map((v) => v.made?.kind)).toEqual(['restore', 'restore', 'restore', 'named'])
  })

  it('tells every member about restores and rollbacks since a time, with their role; a removed member gets 403', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const start = Date.now() - 1
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    await waitFor(() => readStrokes(owner.doc).length === 1)
    const named = await name('Start')
    const kept = await restore(named.id)
    await rollback(ctx.members.cara.id, start)

    const seen = await activity(ctx.members.vera.token, start)
    expect(seen.status).toBe(200)
    expect(seen.body.role).toBe('viewer')
    expect(seen.body.notices.map((n) => [n.made?.kind, n.made?.by.name])).toEqual([['restore', 'Ann'], ['rollback', 'Ann']])
    expect(seen.body.notices[0]!.id).toBe(kept.id)
    expect(seen.body.notices[1]!.made?.user?.name).toBe('Cara')
    expect((await activity(ctx.members.cara.token, seen.body.now)).body.notices).toEqual([])

    // Only owners preview a rollback; a member removed meanwhile is told at their next poll.
    expect((await preview(ctx.members.cara.id, start, ctx.members.cara.token)).status).toBe(403)
    expect((await ctx.api('DELETE', `/groups/${group()}/members/${ctx.members.cara.id}`, { token: ctx.fx.token })).status).toBe(204)
    expect((await activity(ctx.members.cara.token, start)).status).toBe(403)
  })
})

describe('rollback previews on the view budget', () => {
  const ctx = useHistoryServer(() => ({ compactIdleMs: 100, versionIntervalMs: 3_600_000, roomGraceMs: 200, historyViewsPerMinute: 2 }), { cara: 'Cara' })

  it('charges the versions a preview reads to the owner\'s HISTORY_VIEWS_PER_MINUTE: 429 once spent', async () => {
    const owner = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    addStroke(owner.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    for (const label of ['One', 'Two', 'Three']) expect((await ctx.api('POST', `/groups/${ctx.fx.group.id}/versions`, { token: ctx.fx.token, body: { doc: 'canvas', name: label } })).status).toBe(201)
    const preview = () => ctx.api<RollbackPlanResponse>('POST', `/groups/${ctx.fx.group.id}/rollback/preview`, { token: ctx.fx.token, body: { doc: 'canvas', userId: ctx.members.cara.id, since: 0 } })
    expect((await preview()).status).toBe(200) // three versions read: the budget of two is spent (work under way is paid for)
    const refused = await preview()
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ error: 'rate_limited' })
  })
})
