/**
 * Version history over REST with real clients: versions kept at compaction and named on request,
 * previews, diffs, restoring (and undoing a restore), rolling back one person's changes, every
 * error status, and history surviving a restart, on both storage backends; and a restore refused
 * while the update log (Redis, really stopped) is down.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import type { DiffResponse, RollbackResponse, VersionListResponse, VersionResponse } from '../../shared/api.ts'
import { addStroke, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { groupFixture, injectApi, registerUser, type Api, type GroupFixture } from '../helpers/api.ts'
import { BACKENDS, uniqueDbName } from '../helpers/backends.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { roomDoc, sameContent } from '../helpers/docs.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

describe.each(BACKENDS)('history on $name storage', ({ fresh }) => {
  const ctx = useHistoryServer(() => ({ ...fresh(), compactIdleMs: 100, versionIntervalMs: 3_600_000, roomGraceMs: 200 }), { bob: 'Bob', viewer: { name: 'Vera', role: 'viewer' } })

  const versions = (doc: 'canvas' | 'chat', token = ctx.fx.token) => ctx.api<VersionListResponse>('GET', `/groups/${ctx.fx.group.id}/versions?doc=${doc}`, { token })
  const name = (doc: 'canvas' | 'chat', label: string, token = ctx.fx.token) => ctx.api<{ version: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions`, { token, body: { doc, name: label } })
  const restore = (id: string, token = ctx.fx.token) => ctx.api<{ preRestore: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions/${id}/restore`, { token })

  it('names a version, restores it after everything was erased, and undoes the restore', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#aa0000', 10))
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#0000aa', 50))
    await waitFor(() => readStrokes(ann.doc).length === 2 && readStrokes(bobs.doc).length === 2)
    const drawn = readStrokes(ann.doc).map((s) => [s.color, s.author]) // in paint order
    const named = await name('canvas', 'Both strokes')
    expect(named.status).toBe(201)
    expect(named.body.version).toMatchObject({ name: 'Both strokes', doc: 'canvas' })
    expect(named.body.version.authors.map((a) => a.name).sort()).toEqual(['Ann', 'Bob'])

    for (const id of readStrokes(bobs.doc).map((s) => s.id)) eraseStroke(bobs.doc, id)
    await waitFor(() => readStrokes(ann.doc).length === 0)

    const restored = await restore(named.body.version.id)
    expect(restored.status).toBe(200)
    await waitFor(() => readStrokes(ann.doc).length === 2 && readStrokes(bobs.doc).length === 2, 10_000, 'both see the drawing again')
    expect(readStrokes(ann.doc).map((s) => [s.color, s.author])).toEqual(drawn)
    await waitFor(() => sameContent(ann.doc, bobs.doc))

    // The state before the restore was kept: restoring it undoes the restore.
    const undo = await restore(restored.body.preRestore.id)
    expect(undo.status).toBe(200)
    await waitFor(() => readStrokes(ann.doc).length === 0 && readStrokes(bobs.doc).length === 0, 10_000, 'the restore undone')
    const list = (await versions('canvas')).body.versions
    expect(list.map((v) => v.name)).toEqual(['Before undoing the restore of "Both strokes"', 'Before restoring "Both strokes"', 'Both strokes'])
  })

  it('merges a restore with edits a client made offline meanwhile', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const offline = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#111111', 10))
    await waitFor(() => readStrokes(offline.doc).length === 1)
    const named = (await name('canvas', 'One stroke')).body.version
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#222222', 20))
    await waitFor(() => readStrokes(offline.doc).length === 2)
    offline.provider.disconnect()
    addStroke(offline.doc, pen(ctx.members.bob.id, '#333333', 30)) // drawn offline, after the version
    expect((await restore(named.id)).status).toBe(200)
    await waitFor(() => readStrokes(ann.doc).length === 1)
    offline.provider.connect()
    await waitFor(() => sameContent(ann.doc, offline.doc), 10_000, 'the offline client merged')
    expect(readStrokes(ann.doc).map((s) => s.color).sort()).toEqual(['#111111', '#333333'])
  })

  it('rolls back one person: their strokes go, the strokes they erased come back, others\' edits stay', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#a00001', 10))
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#a00002', 20))
    await waitFor(() => readStrokes(bobs.doc).length === 2)
    await name('canvas', 'Before Bob')
    const since = Date.now()
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#b00001', 40))
    eraseStroke(bobs.doc, readStrokes(bobs.doc)[0]!.id) // Bob erases Ann's first stroke
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#a00003', 60)) // Ann keeps drawing meanwhile
    await waitFor(() => readStrokes(ann.doc).map((s) => s.color).sort().join() === '#a00002,#a00003,#b00001' && sameContent(ann.doc, bobs.doc))

    const editorTries = await ctx.api('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.members.bob.token, body: { doc: 'canvas', userId: ctx.members.bob.id, since } })
    expect(editorTries.status).toBe(403)
    const rolled = await ctx.api<RollbackResponse>('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.fx.token, body: { doc: 'canvas', userId: ctx.members.bob.id, since } })
    expect(rolled.status).toBe(200)
    expect(rolled.body.removed).toHaveLength(1)
    expect(rolled.body.restored).toHaveLength(1)
    const colors = (client: Client): string => readStrokes(client.doc).map((s) => s.color).sort().join()
    await waitFor(() => colors(bobs) === '#a00001,#a00002,#a00003' && sameContent(ann.doc, bobs.doc), 10_000, 'both see the rollback')
    expect(readStrokes(ann.doc).find((s) => s.color === '#a00001')?.author).toBe(ctx.fx.owner.id)
  })

  it('rolls back one person\'s chat messages and nobody else\'s', async () => {
    const ann = await ctx.client(ctx.fx.chat, ctx.fx.owner)
    const bobs = await ctx.client(ctx.fx.chat, ctx.members.bob)
    postMessage(ann.doc, { author: ctx.fx.owner.id, authorName: 'Ann', text: 'before' })
    await waitFor(() => readAllMessages(bobs.doc).length === 1)
    const since = Date.now()
    postMessage(bobs.doc, { author: ctx.members.bob.id, authorName: 'Bob', text: 'spam 1' })
    postMessage(ann.doc, { author: ctx.fx.owner.id, authorName: 'Ann', text: 'meanwhile' })
    postMessage(bobs.doc, { author: ctx.members.bob.id, authorName: 'Bob', text: 'spam 2' })
    await waitFor(() => readAllMessages(ann.doc).length === 4 && readAllMessages(bobs.doc).length === 4)
    const rolled = await ctx.api<RollbackResponse>('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.fx.token, body: { doc: 'chat', userId: ctx.members.bob.id, since } })
    expect(rolled.status).toBe(200)
    expect(rolled.body.removed).toHaveLength(2)
    await waitFor(() => readAllMessages(bobs.doc).length === 2)
    expect(readAllMessages(ann.doc).map((m) => m.text)).toEqual(['before', 'meanwhile'])
  })

  it('keeps automatic versions at compaction, previews them and diffs them, with authors', async () => {
    await ctx.restart({ versionIntervalMs: 1_000 })
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#c00001', 10))
    const first = await waitFor(async () => (await versions('canvas')).body.versions[0], 10_000, 'a first automatic version')
    expect(first).toMatchObject({ name: null, authors: [{ userId: ctx.fx.owner.id, name: 'Ann' }] })
    const bobs = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    addStroke(bobs.doc, pen(ctx.members.bob.id, '#c00002', 20))
    const second = await waitFor(async () => {
      const [newest] = (await versions('canvas')).body.versions
      return newest && newest.id !== first.id ? newest : null
    }, 15_000, 'a second version once the interval passed')
    expect(second.authors.map((a) => a.name)).toEqual(['Bob'])

    const svg = await ctx.server.app.inject({ url: `/groups/${ctx.fx.group.id}/versions/${first.id}/canvas.svg`, headers: { authorization: `Bearer ${ctx.members.viewer.token}` } })
    expect(svg.statusCode).toBe(200)
    expect(svg.body.match(/<path /g)).toHaveLength(1)
    const diff = await ctx.api<DiffResponse>('GET', `/groups/${ctx.fx.group.id}/versions/${first.id}/diff?to=${second.id}`, { token: ctx.members.viewer.token })
    expect(diff.status).toBe(200)
    expect(diff.body.strokes.added.map((s) => [s.color, s.author])).toEqual([['#c00002', ctx.members.bob.id]])
    expect(diff.body.strokes.removed).toEqual([])
    const toNow = await ctx.api<DiffResponse>('GET', `/groups/${ctx.fx.group.id}/versions/${first.id}/diff?to=current`, { token: ctx.members.viewer.token })
    expect(toNow.body.strokes.added.map((s) => s.color)).toEqual(['#c00002'])
  })

  it('shows a chat version\'s messages with the server\'s names', async () => {
    const ann = await ctx.client(ctx.fx.chat, ctx.fx.owner)
    postMessage(ann.doc, { author: ctx.fx.owner.id, authorName: 'Not Ann', text: 'kept' })
    await waitFor(() => ctx.server.app.collab.registry.get(ctx.fx.chat)!.bytes.updateCount > 0)
    const named = (await name('chat', 'Chat so far')).body.version
    postMessage(ann.doc, { author: ctx.fx.owner.id, authorName: 'Ann', text: 'later' })
    const page = await ctx.api<{ messages: Array<{ text: string; authorName: string }> }>('GET', `/groups/${ctx.fx.group.id}/versions/${named.id}/messages`, { token: ctx.members.viewer.token })
    expect(page.status).toBe(200)
    expect(page.body.messages).toEqual([expect.objectContaining({ text: 'kept', authorName: 'Ann' })])
  })

  it('answers every error as documented', async () => {
    const canvasVersion = (await name('canvas', 'A')).body.version
    const other = await groupFixture(ctx.api, 'Someone else')
    const otherVersion = (await ctx.api<{ version: VersionResponse }>('POST', `/groups/${other.group.id}/versions`, { token: other.token, body: { doc: 'canvas', name: 'theirs' } })).body.version
    const base = `/groups/${ctx.fx.group.id}/versions`
    expect((await ctx.api('GET', `${base}/${otherVersion.id}/canvas.svg`, { token: ctx.fx.token })).status).toBe(404) // another group's
    expect((await ctx.api('GET', `${base}/NoSuchVersion00/diff?to=current`, { token: ctx.fx.token })).status).toBe(404)
    expect((await ctx.api('POST', `${base}/NoSuchVersion00/restore`, { token: ctx.fx.token })).status).toBe(404)
    expect((await name('canvas', 'by a viewer', ctx.members.viewer.token)).status).toBe(403)
    expect((await restore(canvasVersion.id, ctx.members.viewer.token)).status).toBe(403)
    const stranger = await registerUser(ctx.api, 'Stranger')
    expect((await versions('canvas', stranger.token)).status).toBe(403)
    expect((await ctx.api('GET', `${base}?doc=drawing`, { token: ctx.fx.token })).status).toBe(400)
    expect((await ctx.api('POST', base, { token: ctx.fx.token, body: { doc: 'canvas', name: '' } })).status).toBe(400)
    expect((await ctx.api('POST', `/groups/${ctx.fx.group.id}/rollback`, { token: ctx.fx.token, body: { doc: 'canvas', userId: ctx.members.bob.id } })).status).toBe(400)
    expect((await ctx.api('GET', `${base}/${canvasVersion.id}/diff?to=../etc`, { token: ctx.fx.token })).status).toBe(400)
    expect((await ctx.api('GET', base, { token: ctx.fx.token })).status).toBe(400) // doc is required
  })

  it('keeps history across a restart', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    addStroke(ann.doc, pen(ctx.fx.owner.id, '#ee0000', 10))
    await waitFor(() => ctx.server.app.collab.registry.get(ctx.fx.canvas)!.bytes.updateCount > 0)
    const named = (await name('canvas', 'Survivor')).body.version
    for (const c of ctx.clients.splice(0)) c.destroy()
    await ctx.restart()
    const list = (await versions('canvas')).body.versions
    expect(list.map((v) => [v.id, v.name])).toEqual([[named.id, 'Survivor']])
    const svg = await ctx.server.app.inject({ url: `/groups/${ctx.fx.group.id}/versions/${named.id}/canvas.svg`, headers: { authorization: `Bearer ${ctx.fx.token}` } })
    expect(svg.body).toContain('#ee0000')
  })
})

describe('a restore while the log is down', () => {
  // A real outage: the server logs to its own Redis, which is stopped. (The embedded log lives in
  // the server's process: there is no outage of it to cause.)
  let redis: RedisServer
  let dir: Awaited<ReturnType<typeof tempDir>>
  let server: TestServer
  let api: Api
  let fx: GroupFixture
  const clients: Client[] = []

  beforeEach(async () => {
    redis = await startRedis()
    dir = await tempDir()
    server = await startServer({
      dataDir: dir.path, redisUrl: redis.url, mongodbUrl: inject('mongoUrl'), mongodbDb: uniqueDbName(), redisTimeoutMs: 500,
      compactIdleMs: 100, versionIntervalMs: 3_600_000, roomGraceMs: 200,
    })
    api = injectApi(server.app)
    fx = await groupFixture(api, 'Ann')
  }, 60_000)

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy()
    await server.close()
    await redis.destroy()
    await dir.remove()
  })

  const versionIds = async (): Promise<string[]> => {
    const list = await api<VersionListResponse>('GET', `/groups/${fx.group.id}/versions?doc=canvas`, { token: fx.token })
    expect(list.status).toBe(200)
    return list.body.versions.map((v) => v.id)
  }
  const restore = (id: string) => server.app.inject({ method: 'POST', url: `/groups/${fx.group.id}/versions/${id}/restore`, headers: { authorization: `Bearer ${fx.token}` } })
  const held = () => readStrokes(roomDoc(server.app.collab.registry.get(fx.canvas)!)).map((s) => s.color)

  it('answers 503 with Retry-After while Redis is stopped, changing nothing, and restores once it is back', async () => {
    const ann = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
    clients.push(ann)
    addStroke(ann.doc, pen(fx.owner.id, '#dd0000', 10))
    await waitFor(() => held().length === 1, 10_000, 'the server holds the first stroke')
    const version = (await api<{ version: VersionResponse }>('POST', `/groups/${fx.group.id}/versions`, { token: fx.token, body: { doc: 'canvas', name: 'One' } })).body.version
    addStroke(ann.doc, pen(fx.owner.id, '#dd0001', 20))
    await waitFor(() => held().length === 2, 10_000, 'the server holds both strokes')
    const before = await versionIds()
    expect(before).toContain(version.id)

    await redis.stop()
    await waitFor(() => !server.app.updateLog.isUp(), 10_000, 'the log counts as down')
    expect((await server.app.inject({ url: '/readyz' })).json()).toMatchObject({ log: 'down' })
    const refused = await restore(version.id)
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(await versionIds()).toEqual(before) // no pre-restore version either
    expect(held()).toEqual(['#dd0000', '#dd0001'])
    expect(readStrokes(ann.doc).map((s) => s.color)).toEqual(['#dd0000', '#dd0001'])

    // The same restore, once the log is back: taken, with its pre-restore version.
    await redis.start()
    await waitFor(() => server.app.updateLog.isUp(), 20_000, 'the log is back')
    const restored = await restore(version.id)
    expect(restored.statusCode).toBe(200)
    expect(await versionIds()).toContain((restored.json() as { preRestore: VersionResponse }).preRestore.id)
    await waitFor(() => readStrokes(ann.doc).length === 1, 10_000, 'the client sees the restored canvas')
    expect(held()).toEqual(['#dd0000'])
  }, 60_000)
})
