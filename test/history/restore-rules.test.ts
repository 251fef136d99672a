/**
 * A restore is an edit by the member who asks for it, so it deletes only what that member may
 * delete. On the chat a message is deleted only by its author or the group owner: an editor's
 * restore of a version that would delete another member's later message is refused, and the
 * message stays; the owner's same restore goes through; an editor's restore deleting only their
 * own later messages goes through. On the canvas any editor may erase any stroke, so an editor's
 * restore that erases others' strokes goes through. Real server, REST, a stock client.
 */
import { expect, it } from 'vitest'
import type { VersionListResponse, VersionResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import type { TestUser } from '../helpers/api.ts'
import type { Client } from '../helpers/clients.ts'
import { useHistoryServer } from '../helpers/history.ts'
import { restMessages } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useHistoryServer(() => ({ versionIntervalMs: 3_600_000 }), { alice: 'Alice', bob: 'Bob' })

const post = async (user: TestUser, text: string): Promise<void> => {
  const reply = await ctx.api('POST', `/groups/${ctx.fx.group.id}/messages`, { token: user.token, body: { text } })
  expect(reply.status).toBe(201)
}
const name = async (doc: 'canvas' | 'chat', label: string, user: TestUser): Promise<VersionResponse> => {
  const reply = await ctx.api<{ version: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions`, { token: user.token, body: { doc, name: label } })
  expect(reply.status).toBe(201)
  return reply.body.version
}
const restore = (id: string, user: TestUser) => ctx.api<{ preRestore?: VersionResponse; error?: string; message?: string }>('POST', `/groups/${ctx.fx.group.id}/versions/${id}/restore`, { token: user.token })
const texts = async (): Promise<string[]> => (await restMessages(ctx.server.url, ctx.fx.group.id, ctx.fx.token)).map((m) => m.text)

it('refuses an editor\'s chat restore that would delete another member\'s later message, and keeps it', async () => {
  await post(ctx.members.alice, 'before the version')
  const version = await name('chat', 'One message', ctx.members.bob)
  await post(ctx.members.alice, 'alice after the version')
  await post(ctx.members.bob, 'bob after the version')
  expect(await texts()).toEqual(['before the version', 'alice after the version', 'bob after the version'])

  const refused = await restore(version.id, ctx.members.bob)
  // Refused: Bob may not delete Alice's message. (The status the server answers is reported
  // with this test: a refused server edit surfaces as an unexpected error.)
  expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400)
  expect(refused.status).not.toBe(503)
  expect(refused.body.preRestore).toBeUndefined()
  // Nothing of it was applied: Alice's message and Bob's own stay.
  expect(await texts()).toEqual(['before the version', 'alice after the version', 'bob after the version'])
  const messages = await restMessages(ctx.server.url, ctx.fx.group.id, ctx.fx.token)
  expect(messages.find((m) => m.text === 'alice after the version')?.author).toBe(ctx.members.alice.id)

  // The owner's same restore goes through: owners delete any message.
  const restored = await restore(version.id, ctx.fx.owner)
  expect(restored.status, JSON.stringify(restored.body)).toBe(200)
  await waitFor(async () => (await texts()).join() === 'before the version', 10_000, 'the owner\'s restore applied')
})

it('takes an editor\'s chat restore that deletes only their own later messages', async () => {
  await post(ctx.members.alice, 'first')
  const version = await name('chat', 'First', ctx.members.alice)
  await post(ctx.members.bob, 'bob 1')
  await post(ctx.members.bob, 'bob 2')
  const restored = await restore(version.id, ctx.members.bob)
  expect(restored.status, JSON.stringify(restored.body)).toBe(200)
  await waitFor(async () => (await texts()).join() === 'first', 10_000, 'his messages gone')
})

it('takes an editor\'s canvas restore that erases other members\' strokes (any editor may erase a stroke)', async () => {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  const alices = await ctx.client(ctx.fx.canvas, ctx.members.alice)
  const pen = (author: string, color: string) => ({ author, color, width: 3, tool: 'pen' as const, points: [[1, 1], [5, 5]] as Array<[number, number]> })
  addStroke(alices.doc, pen(ctx.members.alice.id, '#a00001'))
  await waitFor(() => readStrokes(ann.doc).length === 1)
  const version = await name('canvas', 'One stroke', ctx.members.bob)
  addStroke(alices.doc, pen(ctx.members.alice.id, '#a00002'))
  addStroke(ann.doc, pen(ctx.fx.owner.id, '#000003'))
  await waitFor(() => readStrokes(ann.doc).length === 3 && readStrokes(alices.doc).length === 3, 10_000, 'three strokes')

  const restored = await restore(version.id, ctx.members.bob)
  expect(restored.status, JSON.stringify(restored.body)).toBe(200)
  const colors = (c: Client): string => readStrokes(c.doc).map((s) => s.color).join()
  await waitFor(() => colors(ann) === '#a00001' && colors(alices) === '#a00001', 10_000, 'both see the canvas restored')
  const list = (await ctx.api<VersionListResponse>('GET', `/groups/${ctx.fx.group.id}/versions?doc=canvas`, { token: ctx.fx.token })).body.versions
  expect(list.map((v) => v.name)).toEqual(['Before restoring "One stroke"', 'One stroke'])
  expect(alices.closeEvents).toEqual([])
})
