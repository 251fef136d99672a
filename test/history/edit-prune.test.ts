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
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RollbackResponse, VersionListResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { addMember, groupFixture, injectApi, registerUser, type Api, type GroupFixture, type TestUser } from '../helpers/api.ts'
import { BACKENDS } from '../helpers/backends.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const MINUTE = 60_000
const pen = (author: string, color: string, at: number) => ({ author, color, width: 3, tool: 'pen' as const, points: [[at, at], [at + 5, at + 5]] as const })

describe.each(BACKENDS)('edit records at a first compaction, on $name storage', ({ fresh }) => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let server: TestServer
  let api: Api
  let fx: GroupFixture
  let bob: TestUser
  const clients: Client[] = []

  beforeEach(async () => {
    dir = await tempDir()
    // Nothing compacts by itself (the test says when); the default retention ("1d,30d").
    server = await startServer({ dataDir: dir.path, ...fresh(), compactIdleMs: 3_600_000, compactEveryUpdates: 1_000_000, versionIntervalMs: 3_600_000 })
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

  async function client(room: string, user: { token: string }): Promise<Client> {
    const connected = await connectSynced(server.collabUrl, room, { token: user.token })
    clients.push(connected)
    return connected
  }

  it('keeps the records a rollback of the last minutes needs: the user\'s strokes still go', async () => {
    const ann = await client(fx.canvas, fx.owner)
    const bobs = await client(fx.canvas, bob)
    addStroke(ann.doc, pen(fx.owner.id, '#a00001', 10))
    addStroke(bobs.doc, pen(bob.id, '#b00001', 40))
    addStroke(bobs.doc, pen(bob.id, '#b00002', 50))
    await waitFor(() => readStrokes(ann.doc).length === 3 && sameContent(ann.doc, bobs.doc), 10_000, 'everyone has the three strokes')
    const room = server.app.collab.registry.get(fx.canvas)!
    await waitFor(() => room.bytes.contents().since.filter((a) => a.writer === bob.id).length === 2, 10_000, 'Bob\'s strokes held in the room')
    // No version and no edit record yet: the compaction below is the room's first.
    expect((await api<VersionListResponse>('GET', `/groups/${fx.group.id}/versions?doc=canvas`, { token: fx.token })).body.versions).toEqual([])
    expect(await server.app.storage.edits.list(fx.canvas, { since: 0 })).toEqual([])

    await server.app.collab.compactor.compactHot(room) // records the edits, saves, keeps a version, prunes

    // It kept the first version (so pruning ran) and folded Bob's strokes out of the room: only
    // the edit records say what he did now.
    const versions = (await api<VersionListResponse>('GET', `/groups/${fx.group.id}/versions?doc=canvas`, { token: fx.token })).body.versions
    expect(versions).toHaveLength(1)
    expect(versions[0]!.authors.map((a) => a.name).sort()).toEqual(['Ann', 'Bob'])
    expect(room.bytes.contents().since.filter((a) => !a.recorded)).toEqual([])

    const rolled = await api<RollbackResponse>('POST', `/groups/${fx.group.id}/rollback`, { token: fx.token, body: { doc: 'canvas', userId: bob.id, since: Date.now() - 10 * MINUTE } })
    expect(rolled.status).toBe(200)
    expect(rolled.body.removed.map((r) => r.kind)).toEqual(['stroke', 'stroke'])
    const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).join()
    await waitFor(() => colors(ann) === '#a00001' && colors(bobs) === '#a00001', 10_000, 'both see Bob\'s strokes gone, Ann\'s kept')
    expect(readStrokes(ann.doc)[0]!.author).toBe(fx.owner.id)
    // What the rollback read: the records written at the compaction, which survived its prune.
    const records = await server.app.storage.edits.list(fx.canvas, { since: 0 })
    expect(records.map((r) => r.user).sort()).toEqual([bob.id, fx.owner.id].sort())
  })
})
