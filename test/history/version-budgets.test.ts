/**
 * A member cannot fill the store with copies of a document: naming and restoring (each stores a
 * whole copy) are rate-limited per user (VERSION_WRITES_PER_HOUR, 429), and named versions, which
 * are kept forever, are bounded per document (MAX_NAMED_VERSIONS_PER_DOC, 409 `quota_exceeded`).
 * The offender pays: another member still names and restores.
 */
import { expect, it } from 'vitest'
import type { VersionResponse } from '../../shared/api.ts'
import { addStroke } from '../../shared/canvas.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'
import { roomDoc } from '../helpers/docs.ts'
import { readStrokes } from '../../shared/canvas.ts'
import { VERSION_WINDOW_MS, VersionWriteBudget } from '../../server/history/version-write-budget.ts'

const ctx = useHistoryServer(() => ({ versionWritesPerHour: 4, maxNamedVersionsPerDoc: 4 }), { bob: 'Bob', carol: 'Carol' })

const name = (label: string, token: string) => ctx.api<{ version: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions`, { token, body: { doc: 'canvas', name: label } })
const restore = (id: string, token: string) => ctx.api<{ preRestore: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions/${id}/restore`, { token })
const roomDocOf = () => roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)
const namedCount = async () => (await ctx.server.app.storage.versions.all(ctx.fx.canvas)).filter((v) => v.name !== null).length

it('an editor naming in a loop is refused past her hourly budget; another member is not', async () => {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  addStroke(ann.doc, pen(ctx.fx.owner.id, '#aa0000', 10))
  await waitFor(() => readStrokes(ann.doc).length === 1)
  const first = await name('v1', ctx.members.bob.token)
  expect(first.status).toBe(201)
  // Restores spend the same budget: each keeps the state before it, a whole copy too.
  for (let i = 0; i < 3; i++) expect((await restore(first.body.version.id, ctx.members.bob.token)).status).toBe(200)
  const over = await name('v5', ctx.members.bob.token)
  expect(over.status).toBe(429)
  expect(over.body).toMatchObject({ error: 'rate_limited' })
  expect((await restore(first.body.version.id, ctx.members.bob.token)).status).toBe(429)
  // Carol has her own budget.
  expect((await restore(first.body.version.id, ctx.members.carol.token)).status).toBe(200)
})

it('a document keeps at most its quota of named versions, counted with the states kept before restores', async () => {
  expect((await name('a', ctx.members.bob.token)).status).toBe(201)
  expect((await name('b', ctx.members.carol.token)).status).toBe(201)
  expect((await name('c', ctx.fx.owner.token)).status).toBe(201)
  expect((await name('d', ctx.fx.owner.token)).status).toBe(201)
  const refused = await name('e', ctx.fx.owner.token)
  expect(refused.status).toBe(409)
  expect(refused.body).toMatchObject({ error: 'quota_exceeded' })
  expect(await namedCount()).toBe(4)
})

it('parallel names cannot pass the quota together', async () => {
  const replies = await Promise.all([ctx.members.bob, ctx.members.carol, ctx.fx.owner].flatMap((user) => [name('x', user.token), name('y', user.token)]))
  expect(replies.filter((r) => r.status === 201)).toHaveLength(4)
  for (const reply of replies.filter((r) => r.status !== 201)) expect(reply.status).toBe(409)
  expect(await namedCount()).toBe(4)
})

it('a budget refills when its hour ends, gives back what stored nothing, and forgets users whose hour ended', () => {
  let now = 0
  const budget = new VersionWriteBudget({ perHour: 2, bytesPerHour: 1_000_000 }, () => now)
  budget.spend('bob')
  const second = budget.spend('bob')
  expect(() => budget.spend('bob')).toThrow(expect.objectContaining({ status: 429, retryAfterSeconds: 3600 }))
  second.refund() // the second write was refused downstream: it costs nothing
  budget.spend('bob')
  now = VERSION_WINDOW_MS - 1000
  expect(() => budget.spend('bob')).toThrow(expect.objectContaining({ retryAfterSeconds: 1 }))
  now = VERSION_WINDOW_MS
  budget.spend('bob')
  budget.spend('bob')
  // Thousands of users, each writing once, then an hour later: the map does not keep them all.
  for (let i = 0; i < 5000; i++) budget.spend(`user${i}`)
  now += VERSION_WINDOW_MS
  for (let i = 0; i < 5000; i++) budget.spend(`later${i}`)
  expect((budget as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThan(8000)
})

it('naming an unchanged document again stores a record, not another copy', async () => {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  for (let i = 0; i < 20; i++) addStroke(ann.doc, pen(ctx.fx.owner.id, '#aa0000', i))
  await waitFor(() => readStrokes(roomDocOf()).length === 20) // the server's: the client has them at once, the room once they came
  const first = await name('one', ctx.members.bob.token)
  const second = await name('two', ctx.members.carol.token)
  const third = await restore(first.body.version.id, ctx.fx.owner.token) // keeps the (unchanged) state before it
  const records = await ctx.server.app.storage.versions.all(ctx.fx.canvas)
  const byId = new Map(records.map((r) => [r.id, r]))
  expect(byId.get(first.body.version.id)!.sameAs).toBeUndefined()
  expect(byId.get(second.body.version.id)!.sameAs).toBe(first.body.version.id)
  expect(byId.get(third.body.preRestore.id)!.sameAs).toBe(first.body.version.id) // the one that stores it, never a chain
  const states = await Promise.all([first.body.version, second.body.version, third.body.preRestore].map((v) => ctx.server.app.storage.versions.state(ctx.fx.canvas, v.id)))
  expect(states.map((s) => Buffer.from(s!).toString('base64'))).toEqual(Array(3).fill(Buffer.from(states[0]!).toString('base64')))
  // A change makes the next one a copy of its own.
  addStroke(ann.doc, pen(ctx.fx.owner.id, '#00aa00', 99))
  await waitFor(() => readStrokes(roomDocOf()).length === 21)
  const fourth = await name('four', ctx.fx.owner.token)
  expect((await ctx.server.app.storage.versions.get(ctx.fx.canvas, fourth.body.version.id))!.sameAs).toBeUndefined()
})
