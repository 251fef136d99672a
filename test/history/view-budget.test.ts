/**
 * A viewer cycling history views is charged for each version built for her in the doc worker
 * (which every room's syncs share): past HISTORY_VIEWS_PER_MINUTE she gets 429 with
 * Retry-After, while views of versions the worker still holds cost nothing and another member's
 * views go on.
 */
import { expect, it } from 'vitest'
import type { VersionResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { HistoryViewBudget } from '../../server/history/history-view-budget.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { waitFor } from '../helpers/wait.ts'

const PER_MINUTE = 5
const ctx = useHistoryServer(() => ({ historyViewsPerMinute: PER_MINUTE }), { vera: 'Vera' })

it('charges a viewer per version built, refuses her once in debt, and leaves another member alone', async () => {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  addStroke(ann.doc, pen(ctx.fx.owner.id, '#aa0000', 10))
  await waitFor(() => readStrokes(ann.doc).length === 1)
  const base = `/groups/${ctx.fx.group.id}/versions`
  const named = await ctx.api<{ version: VersionResponse }>('POST', base, { token: ctx.fx.owner.token, body: { doc: 'canvas', name: 'v1' } })
  expect(named.status).toBe(201)
  const id = named.body.version.id
  const view = (url: string, token: string) => ctx.server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
  // A picture built once is held by the worker: looking again costs nothing.
  for (let i = 0; i < 3 * PER_MINUTE; i++) expect((await view(`${base}/${id}/canvas.svg`, ctx.members.vera.token)).statusCode).toBe(200)
  // A diff to the live document loads the version each time: PER_MINUTE more (the picture's one
  // went first) leave her in debt, and then she waits.
  const statuses: number[] = []
  for (let i = 0; i < PER_MINUTE + 2; i++) statuses.push((await view(`${base}/${id}/diff?to=current`, ctx.members.vera.token)).statusCode)
  expect(statuses).toEqual([...Array(PER_MINUTE).fill(200), 429, 429])
  const refused = await view(`${base}/${id}/canvas.svg`, ctx.members.vera.token)
  expect(refused.statusCode).toBe(429)
  expect(refused.json()).toMatchObject({ error: 'rate_limited' })
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect((await view(`${base}/${id}/diff?to=current`, ctx.fx.owner.token)).statusCode).toBe(200)
})

it('refills evenly over the minute', () => {
  let now = 0
  const budget = new HistoryViewBudget(6, () => now)
  budget.admit('vera')
  for (let i = 0; i < 6; i++) budget.charge('vera')
  budget.admit('vera') // at zero, not in debt
  budget.charge('vera')
  expect(() => budget.admit('vera')).toThrow(/retry in 10 s/)
  now += 9_999
  expect(() => budget.admit('vera')).toThrow()
  now += 1
  budget.admit('vera') // one version back every 10 s
  budget.admit('bob')
})
