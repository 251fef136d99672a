/**
 * A viewer is charged for each version her history views build in the doc worker (which every
 * room's syncs share): each view reserves one up front, so parallel requests cannot all pass
 * before any is charged; views of versions the worker still holds get theirs back. Without a
 * version left (HISTORY_VIEWS_PER_MINUTE) she gets 429 with Retry-After; another member's views go on.
 */
import { expect, it } from 'vitest'
import type { VersionResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { HistoryViewBudget } from '../../server/history/history-view-budget.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'

const PER_MINUTE = 5
const ctx = useHistoryServer(() => ({ historyViewsPerMinute: PER_MINUTE }), { vera: 'Vera', will: 'Will' })

const view = (url: string, token: string) => ctx.server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })

async function namedVersion(): Promise<string> {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  addStroke(ann.doc, pen(ctx.fx.owner.id, '#aa0000', 10))
  await waitFor(() => readStrokes(ann.doc).length === 1)
  const named = await ctx.api<{ version: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions`, { token: ctx.fx.owner.token, body: { doc: 'canvas', name: 'v1' } })
  expect(named.status).toBe(201)
  return `/groups/${ctx.fx.group.id}/versions/${named.body.version.id}`
}

it('charges a viewer per version built, refuses her once none is left, and leaves another member alone', async () => {
  const version = await namedVersion()
  // A picture built once is held by the worker: looking again costs nothing.
  for (let i = 0; i < 3 * PER_MINUTE; i++) expect((await view(`${version}/canvas.svg`, ctx.members.vera.token)).statusCode).toBe(200)
  // A diff to the live document loads the version each time: the PER_MINUTE - 1 left pass.
  const statuses: number[] = []
  for (let i = 0; i < PER_MINUTE + 2; i++) statuses.push((await view(`${version}/diff?to=current`, ctx.members.vera.token)).statusCode)
  expect(statuses).toEqual([...Array(PER_MINUTE - 1).fill(200), 429, 429, 429])
  const refused = await view(`${version}/canvas.svg`, ctx.members.vera.token)
  expect(refused.statusCode).toBe(429)
  expect(refused.json()).toMatchObject({ error: 'rate_limited' })
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect((await view(`${version}/diff?to=current`, ctx.fx.owner.token)).statusCode).toBe(200)
})

it('lets no burst of parallel views past the budget', async () => {
  const version = await namedVersion()
  const replies = await Promise.all(Array.from({ length: 4 * PER_MINUTE }, () => view(`${version}/diff?to=current`, ctx.members.will.token)))
  const statuses = replies.map((r) => r.statusCode).sort()
  expect(statuses).toEqual([...Array(PER_MINUTE).fill(200), ...Array(3 * PER_MINUTE).fill(429)])
})

it('reserves a version per view, charges the ones after the first, gives back what a view did not use, and refills over the minute', () => {
  let now = 0
  const budget = new HistoryViewBudget(6, () => now)
  const diff = budget.open('vera') // reserves 1: 5 left
  diff.loaded()
  diff.loaded() // a second version: charged, 4 left
  diff.close()
  for (let i = 0; i < 4; i++) {
    const held = budget.open('vera')
    held.close() // the worker held it: given back
  }
  for (let i = 0; i < 4; i++) budget.open('vera').loaded()
  expect(() => budget.open('vera')).toThrow(/retry in 10 s/)
  now += 9_999
  expect(() => budget.open('vera')).toThrow()
  now += 1
  budget.open('vera') // one version back every 10 s
  budget.open('bob')
})
