/**
 * GET /groups/:id/canvas.svg renders the canvas in the doc worker every room shares; an editor
 * changing one point before each request misses the cache every time. Each render is charged to
 * the viewer by the canvas's size (CANVAS_RENDER_BYTES_PER_MINUTE): in debt, 429 with Retry-After;
 * a picture still cached is free, and other members' pictures go on.
 */
import { expect, it } from 'vitest'
import { addStroke, readStrokes, type NewStroke } from '../../shared/canvas.ts'
import { CanvasRenderBudget } from '../../server/history/canvas-render-budget.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { roomDoc } from '../helpers/docs.ts'
import { waitFor } from '../helpers/wait.ts'

const KIB = 1024
const PER_MINUTE = 64 * KIB
const ctx = useHistoryServer(() => ({ canvasRenderBytesPerMinute: PER_MINUTE }), { vera: { name: 'Vera', role: 'viewer' } })

const picture = (token: string) => ctx.server.app.inject({ method: 'GET', url: `/groups/${ctx.fx.group.id}/canvas.svg`, headers: { authorization: `Bearer ${token}` } })
const room = () => ctx.server.app.collab.registry.get(ctx.fx.canvas)!

/** A stroke of 1,000 points with fractional coordinates (stored as doubles): about 9 KiB of canvas. */
function bigStroke(author: string, seed: number): NewStroke {
  const points = Array.from({ length: 1000 }, (_, i) => [seed + i + 0.123456789, seed * 2 + i / 3] as [number, number])
  return { author, color: '#112233', width: 3, tool: 'pen', points }
}

it('charges a viewer per render by the canvas size, refuses her in debt, serves cached pictures free, and leaves others alone', async () => {
  const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
  let strokes = 0
  const draw = async (stroke: NewStroke) => {
    addStroke(ann.doc, stroke)
    strokes++
    await waitFor(() => readStrokes(roomDoc(room())).length === strokes)
  }
  for (let i = 0; i < 2; i++) await draw(bigStroke(ctx.fx.owner.id, i * 5000)) // ~18 KiB: three or four renders a minute
  expect(room().bytes.bytes).toBeGreaterThan(PER_MINUTE / 8)

  expect((await picture(ctx.members.vera.token)).statusCode).toBe(200)
  // The same version again is served from the cache: free, however often.
  for (let i = 0; i < 20; i++) expect((await picture(ctx.members.vera.token)).statusCode).toBe(200)

  // One point more before each request: every one is a render.
  let renders = 1
  let refused: Awaited<ReturnType<typeof picture>> | undefined
  for (let i = 0; i < 20 && !refused; i++) {
    await draw(pen(ctx.fx.owner.id, '#aa0000', i))
    const reply = await picture(ctx.members.vera.token)
    if (reply.statusCode === 200) renders++
    else refused = reply
  }
  expect(refused?.statusCode).toBe(429)
  expect(refused?.json()).toMatchObject({ error: 'rate_limited' })
  expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect(renders).toBeGreaterThanOrEqual(2)
  expect(renders * room().bytes.bytes).toBeLessThan(2 * PER_MINUTE) // a minute's worth, and one overdraw

  // Ann has her own budget; the picture she had rendered is cached, so Vera gets it free even in debt.
  expect((await picture(ctx.fx.owner.token)).statusCode).toBe(200)
  expect((await picture(ctx.members.vera.token)).statusCode).toBe(200)
})

it('lets a render start only out of debt, charges it whole, and refills over the minute', () => {
  let now = 0
  const budget = new CanvasRenderBudget(6000, () => now)
  budget.charge('vera', 5000)
  budget.charge('vera', 5000) // 1000 left: a render starts, and overdraws to -4000
  expect(() => budget.charge('vera', 1)).toThrow(expect.objectContaining({ status: 429, retryAfterSeconds: 40 }))
  budget.charge('bob', 6000)
  now = 39_000
  expect(() => budget.charge('vera', 1)).toThrow(expect.objectContaining({ retryAfterSeconds: 1 }))
  now = 40_000
  budget.charge('vera', 20_000) // out of debt: one render of any size
  expect(() => budget.charge('vera', 1)).toThrow(expect.objectContaining({ retryAfterSeconds: 200 }))
})
