/** The canvas as a picture: the SVG renderer (shared/canvas-svg.ts) and GET /groups/:id/canvas.svg. */
import { afterEach, describe, expect, it } from 'vitest'
import { addStroke, appendPoints, type Stroke } from '../../shared/canvas.ts'
import { HIGHLIGHTER_OPACITY, renderCanvasSvg, strokeBounds, SVG_PADDING } from '../../shared/canvas-svg.ts'
import { addMember, groupFixture, registerUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait.ts'
import { expectError, UNKNOWN_GROUP_ID, useServer } from './context.ts'

function stroke(overrides: Partial<Stroke> = {}): Stroke {
  return { id: 's1', author: 'a', color: '#112233', width: 4, tool: 'pen', points: [[0, 0], [10, 20]], ...overrides }
}

/** The attributes of every <path> (the renderer writes one per stroke), in document order. */
function paths(svg: string): Array<Record<string, string>> {
  return [...svg.matchAll(/<path ([^>]*)\/>/g)].map((match) => Object.fromEntries([...(match[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])))
}

function viewBox(svg: string): number[] {
  const match = /viewBox="([^"]+)"/.exec(svg)
  return (match?.[1] ?? '').split(' ').map(Number)
}

describe('renderCanvasSvg', () => {
  it('renders an empty canvas as a small valid SVG with no strokes', () => {
    const svg = renderCanvasSvg([])
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*><\/svg>$/)
    expect(viewBox(svg)).toEqual([0, 0, SVG_PADDING * 2, SVG_PADDING * 2])
    expect(paths(svg)).toEqual([])
  })

  it('draws one round-capped path per stroke, in paint order, with its colour, width and author', () => {
    const svg = renderCanvasSvg([stroke({ id: 'a', color: '#ff0000', width: 3 }), stroke({ id: 'b', author: 'bo"b', color: '#00aa00', width: 7, points: [[5, 5], [6, 7], [8, 9]] })])
    expect(paths(svg)).toEqual([
      { 'data-id': 'a', 'data-author': 'a', d: 'M0 0L10 20', fill: 'none', stroke: '#ff0000', 'stroke-width': '3', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' },
      { 'data-id': 'b', 'data-author': 'bo&quot;b', d: 'M5 5L6 7L8 9', fill: 'none', stroke: '#00aa00', 'stroke-width': '7', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' },
    ])
  })

  it('makes highlighter strokes semi-transparent and leaves pens and markers opaque', () => {
    const svg = renderCanvasSvg([stroke({ tool: 'pen' }), stroke({ tool: 'marker' }), stroke({ tool: 'highlighter' })])
    expect(paths(svg).map((p) => p['stroke-opacity'])).toEqual([undefined, undefined, String(HIGHLIGHTER_OPACITY)])
    expect(HIGHLIGHTER_OPACITY).toBeGreaterThan(0)
    expect(HIGHLIGHTER_OPACITY).toBeLessThan(1)
  })

  it('fits the viewBox to the ink (points widened by half the stroke width) plus padding', () => {
    const strokes = [stroke({ width: 4, points: [[-10, 5], [30, 40]] }), stroke({ width: 10, points: [[100, -20]] })]
    expect(strokeBounds(strokes)).toEqual({ minX: -12, minY: -25, maxX: 105, maxY: 42 })
    const svg = renderCanvasSvg(strokes, 8)
    expect(viewBox(svg)).toEqual([-20, -33, 133, 83])
    expect(svg).toContain('width="133" height="83"')
  })

  it('paints a single point as a zero-length round-capped segment (a dot)', () => {
    expect(paths(renderCanvasSvg([stroke({ points: [[3, 4]] })]))[0]?.d).toBe('M3 4L3 4')
  })

  it('skips strokes without points (they draw nothing)', () => {
    expect(paths(renderCanvasSvg([stroke({ id: 'empty', points: [] }), stroke({ id: 'drawn' })])).map((p) => p['data-id'])).toEqual(['drawn'])
  })

  it('escapes what it interpolates and never passes a colour it did not validate', () => {
    const svg = renderCanvasSvg([stroke({ id: '"/><script>x</script>&\u0001', color: 'red" onload="alert(1)' })])
    expect(svg).not.toContain('<script')
    expect(svg).not.toContain('onload')
    expect(svg).not.toContain('\u0001')
    expect(paths(svg)[0]).toMatchObject({ 'data-id': '&quot;/&gt;&lt;script&gt;x&lt;/script&gt;&amp;', stroke: '#000000' })
  })

  it('rounds coordinates to two decimals', () => {
    expect(paths(renderCanvasSvg([stroke({ points: [[1.23456, -0.001], [2.5, 3.999]] })]))[0]?.d).toBe('M1.23 0L2.5 4')
  })
})

describe('GET /groups/:id/canvas.svg', () => {
  const ctx = useServer()
  const clients: Client[] = []
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy()
  })

  const get = (groupId: string, token?: string) => ctx.server.app.inject({ method: 'GET', url: `/groups/${groupId}/canvas.svg`, headers: token ? { authorization: `Bearer ${token}` } : {} })

  it('renders the live canvas: one path per stroke a client drew, with its colour', async () => {
    const { group, canvas, token, owner } = await groupFixture(ctx.api, 'Painter')
    const client = await connectSynced(ctx.server.collabUrl, canvas, { token })
    clients.push(client)
    const red = addStroke(client.doc, { author: owner.id, color: '#ff0000', width: 3, tool: 'pen', points: [[10, 10]] })
    appendPoints(red, [[20, 15], [30, 25]])
    addStroke(client.doc, { author: owner.id, color: '#00aa00', width: 12, tool: 'highlighter', points: [[40, 40], [80, 40]] })
    const svg = await waitFor(async () => {
      const response = await get(group.id, token)
      return paths(response.body).length === 2 && response.body.includes('L30 25') ? response : null
    }, 10_000, 'both strokes in the picture')
    expect(svg.statusCode).toBe(200)
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/)
    expect(paths(svg.body).map((p) => [p.stroke, p['stroke-width'], p['stroke-opacity']])).toEqual([['#ff0000', '3', undefined], ['#00aa00', '12', String(HIGHLIGHTER_OPACITY)]])
  })

  it('renders a group nobody drew in as an empty picture', async () => {
    const { group, token } = await groupFixture(ctx.api)
    const response = await get(group.id, token)
    expect(response.statusCode).toBe(200)
    expect(paths(response.body)).toEqual([])
    expect(response.body).toMatch(/^<svg [^>]*><\/svg>$/)
  })

  it('lets a viewer see it', async () => {
    const { owner, group } = await groupFixture(ctx.api)
    const viewer = await registerUser(ctx.api, 'Viewer')
    await addMember(ctx.api, owner, group.id, viewer, 'viewer')
    expect((await get(group.id, viewer.token)).statusCode).toBe(200)
  })

  it('answers 401 without a token or with a bad one', async () => {
    const { group } = await groupFixture(ctx.api)
    expectError(await ctx.api('GET', `/groups/${group.id}/canvas.svg`), 401, 'unauthorized')
    expectError(await ctx.api('GET', `/groups/${group.id}/canvas.svg`, { token: 'not-a-jwt' }), 401, 'unauthorized')
  })

  it('answers 403 to a user who is not a member', async () => {
    const { group } = await groupFixture(ctx.api)
    const stranger = await registerUser(ctx.api, 'Stranger')
    expectError(await ctx.api('GET', `/groups/${group.id}/canvas.svg`, { token: stranger.token }), 403, 'forbidden')
  })

  it('answers 404 for an unknown group and 400 for a malformed id', async () => {
    const user = await registerUser(ctx.api, 'Someone')
    expectError(await ctx.api('GET', `/groups/${UNKNOWN_GROUP_ID}/canvas.svg`, { token: user.token }), 404, 'not_found')
    expectError(await ctx.api('GET', '/groups/bad!id/canvas.svg', { token: user.token }), 400, 'bad_request')
  })
})

describe('GET /groups/:id/canvas.svg, attributed and bounded', () => {
  const ctx = useServer({ maxSvgBytes: 64 * 1024 })
  const clients: Client[] = []
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy()
  })

  it('says who drew each stroke (data-author is the user the stroke is bound to)', async () => {
    const { owner, group, canvas } = await groupFixture(ctx.api, 'Ann')
    const bob = await registerUser(ctx.api, 'Bob')
    await addMember(ctx.api, owner, group.id, bob)
    const ann = await connectSynced(ctx.server.collabUrl, canvas, { token: owner.token })
    const bobs = await connectSynced(ctx.server.collabUrl, canvas, { token: bob.token })
    clients.push(ann, bobs)
    addStroke(ann.doc, { author: owner.id, color: '#ff0000', width: 3, tool: 'pen', points: [[1, 1]] })
    await waitFor(() => bobs.doc.getArray('strokes').length === 1)
    addStroke(bobs.doc, { author: bob.id, color: '#0000ff', width: 3, tool: 'pen', points: [[2, 2]] })
    const svg = await waitFor(async () => {
      const body = (await ctx.server.app.inject({ url: `/groups/${group.id}/canvas.svg`, headers: { authorization: `Bearer ${bob.token}` } })).body
      return paths(body).length === 2 ? body : null
    })
    expect(paths(svg).map((p) => [p.stroke, p['data-author']])).toEqual([['#ff0000', owner.id], ['#0000ff', bob.id]])
  })

  it('answers 413 instead of rendering a picture larger than MAX_SVG_BYTES, and serves it again once erased', async () => {
    const { owner, group, canvas } = await groupFixture(ctx.api)
    const client = await connectSynced(ctx.server.collabUrl, canvas, { token: owner.token })
    clients.push(client)
    const points = Array.from({ length: 20_000 }, (_, i) => [i, i % 100] as const)
    addStroke(client.doc, { author: owner.id, color: '#123456', width: 2, tool: 'pen', points })
    const get = (): Promise<{ statusCode: number; body: string }> => ctx.server.app.inject({ url: `/groups/${group.id}/canvas.svg`, headers: { authorization: `Bearer ${owner.token}` } })
    const refused = await waitFor(async () => {
      const response = await get()
      return response.statusCode === 413 ? response : null
    }, 10_000, 'the picture refused as too large')
    expect(refused.body).toMatch(/payload_too_large/)
    client.doc.getArray('strokes').delete(0, 1)
    await waitFor(async () => (await get()).statusCode === 200, 10_000, 'served again once small')
  })
})
