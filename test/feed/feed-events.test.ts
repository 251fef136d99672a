/**
 * The change feed on a real server, on both storage modes: events derived from what stock clients
 * drew and wrote (only effective changes: a resent update makes none), REST changes, paging,
 * access, and Server-Sent Events resumed with Last-Event-ID.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage } from '../../shared/chat.ts'
import type { EventPageResponse } from '../../shared/feed-api.ts'
import { addMember, injectApi, registerUser } from '../helpers/api.ts'
import { BACKENDS } from '../helpers/backends.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useFreshServer } from '../helpers/server.ts'
import { allEvents, ofType, readStream, waitForEvents, type Event } from './feed-helpers.ts'

describe.each(BACKENDS)('change feed on $name storage', ({ fresh }) => {
  const ctx = useFreshServer(() => ({ ...fresh(), compactIdleMs: 50 }))
  const api = (): ReturnType<typeof injectApi> => injectApi(ctx.server.app)

  it('records chat messages created and deleted, once each, with authors and who deleted', async () => {
    const { fx } = ctx
    const [a] = await ctx.pair(fx.chat)
    const first = postMessage(a.doc, { author: fx.owner.id, authorName: 'Owner', text: 'hello' })
    postMessage(a.doc, { author: fx.owner.id, authorName: 'Owner', text: 'second' })
    const events = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.created').length === 2, 'two created events')
    expect(ofType(events, 'chat.message.created')[0]).toMatchObject({ groupId: fx.group.id, actor: fx.owner.id, data: { message: { id: first.id, author: fx.owner.id, text: 'hello', time: first.time } } })
    messagesOf(a.doc).delete(0, 1)
    const after = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.deleted').length === 1, 'a deleted event')
    expect(ofType(after, 'chat.message.deleted')[0]).toMatchObject({ actor: fx.owner.id, data: { message: { id: first.id, author: fx.owner.id }, deletedBy: fx.owner.id } })
    expect(ofType(after, 'chat.message.created')).toHaveLength(2)
    expect(after.map((e) => e.id)).toEqual(after.map((_, i) => `${fx.group.id}.${i + 1}`))
  })

  it('records strokes added, appended to and erased, coalesced per second; a resent stroke is not new', async () => {
    const { fx } = ctx
    const [a] = await ctx.pair(fx.canvas)
    const stroke = addStroke(a.doc, { author: fx.owner.id, color: '#112233', width: 2, tool: 'pen', id: 'stroke-1', points: [[0, 0]] })
    await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'canvas.changed').some((c) => (c.data.added as unknown[]).length === 1), 'stroke added')
    appendPoints(stroke, [[1, 1], [2, 2]])
    const appended = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'canvas.changed').some((c) => (c.data.appended as unknown[]).length === 1), 'points appended')
    expect(ofType(appended, 'canvas.changed').find((c) => (c.data.appended as unknown[]).length === 1)!.data.appended).toEqual([{ id: 'stroke-1', author: fx.owner.id, points: 2 }])

    // A client that has the stroke already (got it elsewhere) syncs it to the server again: nothing new.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(a.doc))
    const resender = await connectSynced(ctx.server.collabUrl, fx.canvas, { token: fx.token })
    ctx.clients.push(resender)
    Y.applyUpdate(resender.doc, Y.encodeStateAsUpdate(copy))
    strokesOf(a.doc).delete(0, 1)
    const events = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'canvas.changed').some((c) => (c.data.erased as unknown[]).length === 1), 'stroke erased')
    const changes = ofType(events, 'canvas.changed')
    expect(changes.flatMap((c) => c.data.added as unknown[])).toEqual([{ id: 'stroke-1', author: fx.owner.id, points: 1 }])
    expect(changes.flatMap((c) => c.data.erased as unknown[])).toEqual([{ id: 'stroke-1', author: fx.owner.id, by: fx.owner.id }])
    expect(changes.every((c) => c.actor === fx.owner.id)).toBe(true)
  })

  it('records membership, versions, restores and rollbacks made over REST', async () => {
    const { fx } = ctx
    const member = await registerUser(api(), 'Member')
    await addMember(api(), fx.owner, fx.group.id, member, 'viewer')
    expect((await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: 'editor' } })).status).toBe(200)
    const named = await api()<{ version: { id: string } }>('POST', `/groups/${fx.group.id}/versions`, { token: fx.token, body: { doc: 'canvas', name: 'v1' } })
    expect(named.status).toBe(201)
    expect((await api()('POST', `/groups/${fx.group.id}/versions/${named.body.version.id}/restore`, { token: fx.token })).status).toBe(200)
    expect((await api()('POST', `/groups/${fx.group.id}/rollback`, { token: fx.token, body: { doc: 'canvas', userId: member.id, since: 0 } })).status).toBe(200)
    expect((await api()('DELETE', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token })).status).toBe(204)
    const events = await allEvents(api(), fx.group.id, fx.token)
    expect(events.map((e) => e.type)).toEqual(['member.added', 'member.role_changed', 'version.created', 'version.restored', 'rollback.done', 'member.removed'])
    expect(events[0]).toMatchObject({ actor: member.id, data: { userId: member.id, role: 'viewer' } })
    expect(events[1]).toMatchObject({ actor: fx.owner.id, data: { userId: member.id, role: 'editor' } })
    expect(events[2]).toMatchObject({ data: { doc: 'canvas', version: { id: named.body.version.id, name: 'v1' } } })
    expect(events[5]).toMatchObject({ actor: fx.owner.id, data: { userId: member.id } })
  })

  it('pages with after and limit, from the oldest kept; members of any role read, others get 403, unknown groups 404', async () => {
    const { fx } = ctx
    const viewer = await registerUser(api(), 'Viewer')
    await addMember(api(), fx.owner, fx.group.id, viewer, 'viewer')
    for (const role of ['editor', 'viewer', 'editor'] as const) await api()('PATCH', `/groups/${fx.group.id}/members/${viewer.id}`, { token: fx.token, body: { role } })
    const page1 = await api()<EventPageResponse>('GET', `/groups/${fx.group.id}/events?limit=2`, { token: viewer.token })
    expect(page1.status).toBe(200)
    expect(page1.body.events.map((e) => e.id)).toEqual([`${fx.group.id}.1`, `${fx.group.id}.2`])
    const page2 = await api()<EventPageResponse>('GET', `/groups/${fx.group.id}/events?limit=2&after=${page1.body.next}`, { token: viewer.token })
    expect(page2.body.events.map((e) => e.id)).toEqual([`${fx.group.id}.3`, `${fx.group.id}.4`])
    const end = await api()<EventPageResponse>('GET', `/groups/${fx.group.id}/events?after=${fx.group.id}.4`, { token: viewer.token })
    expect(end.body).toEqual({ events: [], next: `${fx.group.id}.4` })

    const stranger = await registerUser(api(), 'Stranger')
    expect((await api()('GET', `/groups/${fx.group.id}/events`, { token: stranger.token })).status).toBe(403)
    expect((await api()('GET', '/groups/AAAAAAAAAAAAAAAAAAAAAA/events', { token: stranger.token })).status).toBe(404)
    expect((await api()('GET', `/groups/${fx.group.id}/events`)).status).toBe(401)
    expect((await api()('GET', `/groups/${fx.group.id}/events?after=someoneelse1.3`, { token: fx.token })).status).toBe(400)
    expect((await api()('GET', `/groups/${fx.group.id}/events?limit=100000`, { token: fx.token })).status).toBe(400)
  })

  it('streams events as Server-Sent Events and resumes after Last-Event-ID', async () => {
    const { fx } = ctx
    const member = await registerUser(api(), 'Streamer')
    await addMember(api(), fx.owner, fx.group.id, member, 'editor')
    const first = await readStream(ctx.server.url, fx.group.id, fx.token, {}, 1)
    expect(first.map((e) => e.type)).toEqual(['member.added'])
    await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: 'viewer' } })
    await api()('PATCH', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token, body: { role: 'editor' } })
    const resumed = await readStream(ctx.server.url, fx.group.id, fx.token, { 'last-event-id': first[0]!.id }, 2)
    expect(resumed.map((e) => e.id)).toEqual([`${fx.group.id}.2`, `${fx.group.id}.3`])
    // Live: an event recorded while the stream is open arrives on it.
    const live = readStream(ctx.server.url, fx.group.id, fx.token, { 'last-event-id': `${fx.group.id}.3` }, 1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await api()('DELETE', `/groups/${fx.group.id}/members/${member.id}`, { token: fx.token })
    expect((await live).map((e) => e.type)).toEqual(['member.removed'])
    const refused = await fetch(`${ctx.server.url}/groups/${fx.group.id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${member.token}` } })
    expect(refused.status).toBe(403)
  })
})

describe('canvas events while drawing goes on', () => {
  // Compaction (which derives the events) waits for drawing to pause longer than the stroke takes.
  const ctx = useFreshServer(() => ({ compactIdleMs: 1_500 }))

  it('coalesces a stroke drawn point by point into at most one event per second', async () => {
    const { fx } = ctx
    const [a] = await ctx.pair(fx.canvas)
    const api = injectApi(ctx.server.app)
    const started = Date.now()
    const stroke = addStroke(a.doc, { author: fx.owner.id, color: '#112233', width: 2, tool: 'pen', id: 'long', points: [[0, 0]] })
    for (let i = 1; i <= 40; i++) {
      appendPoints(stroke, [[i, i]])
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1
    const pointsIn = (events: Event[]): number => ofType(events, 'canvas.changed').reduce((n, c) => n + [...c.data.added as Array<{ points: number }>, ...c.data.appended as Array<{ points: number }>].reduce((m, s) => m + s.points, 0), 0)
    const events = await waitForEvents(api, fx.group.id, fx.token, (e) => pointsIn(e) === 41, 'every point in the feed')
    const changes = ofType(events, 'canvas.changed')
    expect(changes.length).toBeLessThanOrEqual(seconds)
    const perSecond = changes.map((c) => Math.floor(c.at / 1000))
    expect(new Set(perSecond).size).toBe(perSecond.length)
    expect(changes[0]!.data.added).toEqual([{ id: 'long', author: fx.owner.id, points: expect.any(Number) }])
  })
})
