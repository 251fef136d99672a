/**
 * The canvas on a phone (390 × 844, touch, mobile): a drawing made on a wide screen is reachable
 * (fit to drawing), two fingers pan and pinch-zoom, the hand tool pans with one finger, one finger
 * draws, and the stroke is stored at the document coordinates the finger's screen positions map
 * to under the zoom and pan of that moment (read back from the server's canvas.svg). The page does
 * not scroll while drawing, and another person's cursor (document coordinates in awareness)
 * stays on the same spot of the drawing at any zoom.
 *
 * Touches are real touch input: CDP `Input.dispatchTouchEvent`, which Chromium turns into touch
 * and pointer events (pointerType "touch") exactly as for a finger.
 */
import type { BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addStroke, type Point } from '../../shared/canvas.ts'
import { createGroup, registerUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { canvasSvg, expectStrokeCount, logInViaUi, openGroup, unexpectedErrors, useBrowserEnv, type UserPage } from './harness.ts'

const env = useBrowserEnv()
/** Stored points are rounded to 0.1, the SVG prints 0.01. */
const POINT_TOLERANCE = 0.11

interface View {
  scale: number
  x: number
  y: number
}

interface Box {
  x: number
  y: number
  width: number
  height: number
}

async function viewOf(page: Page): Promise<View> {
  const canvas = page.getByTestId('canvas')
  const read = async (name: string): Promise<number> => Number(await canvas.getAttribute(`data-view-${name}`))
  return { scale: await read('scale'), x: await read('x'), y: await read('y') }
}

async function canvasBox(page: Page): Promise<Box> {
  const box = await page.getByTestId('canvas').boundingBox()
  if (!box) throw new Error('canvas not visible')
  return box
}

/** Where a page point (CSS pixels of the viewport) lands in the document under `view`. */
function toDocument(view: View, box: Box, [px, py]: Point): Point {
  return [(px - box.x - view.x) / view.scale, (py - box.y - view.y) / view.scale]
}

function toScreen(view: View, [dx, dy]: Point): Point {
  return [dx * view.scale + view.x, dy * view.scale + view.y]
}

/** Fingers on the glass, in page coordinates: each call is one touch event for all of them. */
class Fingers {
  private readonly cdp: CDPSession
  private last: Point[] = []
  private clock = 0
  constructor(cdp: CDPSession) {
    this.cdp = cdp
  }

  async down(points: Point[]): Promise<void> {
    await this.send('touchStart', points)
  }

  /** Moves every finger from `from` to `to` in `steps` straight steps. */
  async move(from: Point[], to: Point[], steps = 8): Promise<void> {
    for (let step = 1; step <= steps; step++) {
      const t = step / steps
      await this.send('touchMove', from.map((a, i) => {
        const b = to[i] ?? a
        return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t] as Point
      }))
    }
  }

  /**
   * Rests, then lifts. A finger lifted while moving starts a fling in Chromium, and a tap during
   * a fling only stops it (no click): the rest, 300 ms later on the events' own clock, makes the
   * lift still.
   */
  async up(): Promise<void> {
    this.clock += 0.3
    await this.send('touchMove', this.last)
    await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [], timestamp: this.tick() })
    this.last = []
  }

  async drag(from: Point[], to: Point[], steps = 8): Promise<void> {
    await this.down(from)
    await this.move(from, to, steps)
    await this.up()
  }

  private async send(type: 'touchStart' | 'touchMove', points: Point[]): Promise<void> {
    if (type === 'touchStart') this.clock = Math.max(this.clock, Date.now() / 1000)
    this.last = points
    const touchPoints = points.map(([x, y], id) => ({ x, y, id, radiusX: 4, radiusY: 4, force: 1 }))
    await this.cdp.send('Input.dispatchTouchEvent', { type, touchPoints, timestamp: this.tick() })
  }

  /** Event times: a steady 60 Hz, whatever the load on the machine. */
  private tick(): number {
    this.clock += 1 / 60
    return this.clock
  }
}

/** On a phone the tools are in a menu: open it, pick one (it closes). */
async function selectTool(page: Page, tool: string): Promise<void> {
  await page.getByTestId('tool-menu').tap()
  await page.getByTestId(`tool-${tool}`).tap()
  await page.locator('.toolbar:not(.menu-open)').waitFor()
  await page.locator(`[data-testid="tool-${tool}"][aria-pressed="true"]`).waitFor({ state: "attached" })
}

/** The view becomes `expected` (to a thousandth of a pixel: pan and zoom are float arithmetic). */
async function expectView(page: Page, expected: View): Promise<void> {
  const off = (view: View): number => Math.max(Math.abs(view.scale - expected.scale) * 1000, Math.abs(view.x - expected.x), Math.abs(view.y - expected.y))
  await expect.poll(async () => off(await viewOf(page))).toBeLessThan(0.001)
}

function parsePath(svg: string, exceptId: string): Point[] {
  const paths = [...svg.matchAll(/<path data-id="([^"]+)"[^>]* d="([^"]+)"/g)].filter((match) => match[1] !== exceptId)
  expect(paths).toHaveLength(1)
  return [...(paths[0]![2] ?? '').matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((match) => [Number(match[1]), Number(match[2])] as Point)
}

function expectNear(actual: Point | undefined, expected: Point, tolerance: number, label: string): void {
  expect(actual, label).toBeDefined()
  expect(Math.abs(actual![0] - expected[0]), `${label} x: ${actual![0]} vs ${expected[0]}`).toBeLessThanOrEqual(tolerance)
  expect(Math.abs(actual![1] - expected[1]), `${label} y: ${actual![1]} vs ${expected[1]}`).toBeLessThanOrEqual(tolerance)
}

describe('the canvas on a phone', () => {
  let context: BrowserContext
  let phone: UserPage
  let page: Page
  let fingers: Fingers
  let helper: Client
  let wideStrokeId = ''
  let groupId = ''

  beforeAll(async () => {
    const owner = await registerUser(env.api, 'Phoebe')
    groupId = (await createGroup(env.api, owner, 'Pocket sketches')).id
    // A drawing made on a wide desktop screen, far wider than the phone.
    helper = await connectSynced(env.server.collabUrl, `${groupId}/canvas`, { token: owner.token })
    wideStrokeId = addStroke(helper.doc, { author: owner.id, color: '#e53935', width: 6, tool: 'pen', points: [[40, 60], [400, 200], [900, 120], [1000, 520]] }).get('id') as string
    context = await env.browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 })
    page = await context.newPage()
    phone = { context, page, errors: [], sockets: [] }
    page.on('pageerror', (error) => phone.errors.push(error.message))
    page.on('console', (message) => { if (message.type() === 'error') phone.errors.push(message.text()) })
    await page.goto(env.server.url)
    await logInViaUi(page, owner.email)
    await openGroup(page, groupId)
    await page.locator('[data-testid="canvas"][data-stroke-count="1"]').waitFor()
    fingers = new Fingers(await context.newCDPSession(page))
  })

  afterAll(async () => {
    helper?.destroy()
    await context?.close()
  })

  it('opens a wide drawing fitted to the narrow screen, and fit to drawing brings it back', async () => {
    const box = await canvasBox(page)
    expect(box.width).toBeLessThanOrEqual(390)
    expect(box.height).toBeGreaterThan(844 * 0.7) // the canvas takes most of the screen: one row of header, one of tools
    // Nothing sticks out sideways (the page would scroll left and right, and taps miss).
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(390)
    const opened = await viewOf(page)
    expect(opened.scale).toBeLessThan(1) // fitted on open
    expect(toScreen(opened, [1000, 520])[0]).toBeLessThanOrEqual(box.width)
    await page.getByTestId('zoom-in').tap()
    await page.getByTestId('zoom-in').tap()
    await expect.poll(async () => toScreen(await viewOf(page), [1000, 520])[0]).toBeGreaterThan(box.width) // off screen now
    await page.getByTestId('fit').tap()
    const view = await viewOf(page)
    expect(view.scale).toBeLessThan(1)
    for (const corner of [[37, 57], [1003, 523]] as Point[]) { // the ink, with its width
      const [x, y] = toScreen(view, corner)
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThanOrEqual(box.width)
      expect(y).toBeGreaterThanOrEqual(0)
      expect(y).toBeLessThanOrEqual(box.height)
    }
  })

  it('pans with two fingers and with the hand tool, and pinch-zooms around the fingers', async () => {
    const box = await canvasBox(page)
    const mid: Point = [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)]
    const start = await viewOf(page)
    await fingers.drag([[mid[0] - 50, mid[1]], [mid[0] + 50, mid[1]]], [[mid[0] - 20, mid[1] + 40], [mid[0] + 80, mid[1] + 40]])
    await expectView(page, { scale: start.scale, x: start.x + 30, y: start.y + 40 })
    await expectStrokeCount(page, 1) // two fingers never draw

    await selectTool(page, 'hand')
    const panned = await viewOf(page)
    await fingers.drag([mid], [[mid[0] - 25, mid[1] + 15]])
    await expectView(page, { scale: panned.scale, x: panned.x - 25, y: panned.y + 15 })
    await selectTool(page, 'pen')
    await expectStrokeCount(page, 1)

    const before = await viewOf(page)
    const anchor = toDocument(before, box, mid)
    await fingers.drag([[mid[0] - 50, mid[1]], [mid[0] + 50, mid[1]]], [[mid[0] - 100, mid[1]], [mid[0] + 100, mid[1]]], 10)
    const after = await viewOf(page)
    expect(after.scale / before.scale).toBeCloseTo(2, 5)
    expectNear(toDocument(after, box, mid), anchor, 0.01, 'the point between the fingers stays between them')
    await expectStrokeCount(page, 1)
  })

  it('draws with one finger at the document points under it, without scrolling the page', async () => {
    // The phone layout fits the screen (chat and panels are drawers); a spacer below it makes the
    // page scrollable, so that a finger that scrolled it would show.
    await page.evaluate(() => {
      const spacer = document.createElement('div')
      spacer.style.height = '2000px'
      document.body.append(spacer)
    })
    const scrollable = await page.evaluate(() => document.scrollingElement!.scrollHeight > window.innerHeight)
    expect(scrollable, 'the page must be able to scroll for this check to mean anything').toBe(true)
    const scrollBefore = await page.evaluate(() => window.scrollY)
    const box = await canvasBox(page)
    const view = await viewOf(page)
    // Upwards, the direction that would scroll the page down.
    const path: Point[] = ([[120, box.height - 40], [160, box.height - 140], [220, 60]] as Point[]).map(([x, y]) => [Math.round(box.x + x), Math.round(box.y + y)])
    await fingers.down([path[0]!])
    await fingers.move([path[0]!], [path[1]!], 10)
    const scrollDuring = await page.evaluate(() => window.scrollY)
    await fingers.move([path[1]!], [path[2]!], 10)
    await fingers.up()
    await expectStrokeCount(page, 2)
    expect([scrollDuring, await page.evaluate(() => window.scrollY)]).toEqual([scrollBefore, scrollBefore])
    expect(await viewOf(page)).toEqual(view) // drawing does not move the view

    let points: Point[] = []
    await expect.poll(async () => {
      points = parsePath(await canvasSvg(env, groupId, page), wideStrokeId)
      return points.at(-1)
    }).toBeDefined()
    expect(points.length).toBeGreaterThanOrEqual(3)
    expectNear(points[0], toDocument(view, box, path[0]!), POINT_TOLERANCE, 'first point')
    await expect.poll(async () => parsePath(await canvasSvg(env, groupId, page), wideStrokeId).at(-1)).toSatisfy((last: Point | undefined) => {
      const expected = toDocument(view, box, path[2]!)
      return last !== undefined && Math.abs(last[0] - expected[0]) <= POINT_TOLERANCE && Math.abs(last[1] - expected[1]) <= POINT_TOLERANCE
    })
    // Every point lies on the finger's path: between the two screen segments' document images.
    const [a, b, c] = path.map((p) => toDocument(view, box, p)) as [Point, Point, Point]
    for (const point of points) {
      const onPath = Math.min(segmentDistance(point, a, b), segmentDistance(point, b, c))
      expect(onPath, `point ${point.join(',')}`).toBeLessThanOrEqual(1 / view.scale + POINT_TOLERANCE)
    }
  })

  it('keeps another person\'s cursor on the same spot of the drawing at any zoom', async () => {
    helper.provider.awareness.setLocalStateField('user', { name: 'Helper', color: '#3cb44b' })
    helper.provider.awareness.setLocalStateField('cursor', { x: 400, y: 200 })
    const cursor = page.locator('[data-testid="remote-cursor"]') // the helper's: the only other client
    await cursor.waitFor({ state: 'attached' })
    for (const zoom of ['zoom-out', 'zoom-out', 'zoom-in', 'fit'] as const) {
      await page.getByTestId(zoom).tap()
      const view = await viewOf(page)
      const box = await canvasBox(page)
      const at = await cursor.evaluate((element) => {
        const rect = element.getBoundingClientRect()
        return [rect.left, rect.top] as const
      })
      expectNear([at[0] - box.x, at[1] - box.y], toScreen(view, [400, 200]), 0.5, `cursor after ${zoom}`)
    }
    expect(unexpectedErrors(phone)).toEqual([])
  })

  it('names a stroke\'s author on a long press, and draws nothing for it', async () => {
    const box = await canvasBox(page)
    const [x, y] = toScreen(await viewOf(page), [220, 130]) // on the wide stroke's first segment
    const finger: Point = [Math.round(box.x + x), Math.round(box.y + y)]
    const strokes = Number(await page.getByTestId('canvas').getAttribute('data-stroke-count'))
    await fingers.down([finger])
    const bubble = page.getByTestId('stroke-author')
    await bubble.waitFor() // after half a second held still
    expect(await bubble.textContent()).toBe('Drawn by Phoebe')
    await fingers.up()
    expect(Number(await page.getByTestId('canvas').getAttribute('data-stroke-count'))).toBe(strokes)
    expect(unexpectedErrors(phone)).toEqual([])
  })
})

function segmentDistance(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0]
  const dy = b[1] - a[1]
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))
}
