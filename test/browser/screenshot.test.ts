/**
 * The picture at the top of the README (docs/screenshot.png), taken from the real app: a group
 * page with a drawing, a conversation, and another person's cursor and presence.
 *
 * The scene is fixed so the picture only changes when the app's look does: strokes and chat come
 * from stock clients at fixed coordinates and fixed message times, and the page's `Date` is
 * pinned to the same time of day (timers keep running), in UTC and en-US. The file is rewritten
 * only when the picture changed (see looksTheSame). The README must show it.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { addStroke, type NewStroke, type Point } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait.ts'
import { artifactPath, chatTexts, expectStrokeCount, logInViaUi, openGroup, useBrowserEnv } from './harness.ts'

const env = useBrowserEnv()
const ROOT = path.resolve(import.meta.dirname, '../..')
const PICTURE = path.join(ROOT, 'docs/screenshot.png')
const MINUTE = 60_000

/** The last 10:24 UTC that is not in the future: a fixed time of day the server still accepts. */
function sceneTime(): number {
  const now = new Date()
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 10, 24)
  return today <= now.getTime() ? today : today - 24 * 60 * MINUTE
}

function circle(cx: number, cy: number, r: number, steps = 36): Point[] {
  return Array.from({ length: steps + 1 }, (_, i) => [cx + r * Math.cos((i / steps) * 2 * Math.PI), cy + r * Math.sin((i / steps) * 2 * Math.PI)] as Point)
}

function wave(x0: number, x1: number, y: number, amplitude: number, period: number): Point[] {
  const points: Point[] = []
  for (let x = x0; x <= x1; x += 10) points.push([x, y + amplitude * Math.sin((x / period) * 2 * Math.PI)])
  return points
}

function round(points: Point[]): Point[] {
  return points.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10])
}

function adaStrokes(author: string): NewStroke[] {
  const pen = (color: string, width: number, points: Point[]): NewStroke => ({ author, color, width, tool: 'pen', points: round(points) })
  const rays = Array.from({ length: 8 }, (_, i) => {
    const angle = (i / 8) * 2 * Math.PI
    return pen('#f59e0b', 4, [[640 + 60 * Math.cos(angle), 110 + 60 * Math.sin(angle)], [640 + 82 * Math.cos(angle), 110 + 82 * Math.sin(angle)]])
  })
  return [
    { author, color: '#7dd3fc', width: 26, tool: 'highlighter', points: round(wave(20, 800, 470, 8, 260)) },
    { author, color: '#43a047', width: 10, tool: 'marker', points: round(wave(20, 800, 400, 18, 420)) },
    pen('#f59e0b', 6, circle(640, 110, 45)),
    ...rays,
    pen('#1f6feb', 5, [[180, 300], [330, 300], [330, 410], [180, 410], [180, 300]]),
    pen('#1f6feb', 5, [[165, 305], [255, 225], [345, 305]]),
    pen('#1f6feb', 4, [[240, 410], [240, 355], [272, 355], [272, 410]]),
  ]
}

function graceStrokes(author: string): NewStroke[] {
  return [
    { author, color: '#e53935', width: 4, tool: 'pen', points: [[470, 120], [505, 160], [470, 215], [435, 160], [470, 120]] },
    { author, color: '#e53935', width: 3, tool: 'pen', points: round([[470, 215], ...wave(470, 560, 270, 12, 60).map(([x, y]) => [x, y + (x - 470) * 0.4] as Point)]) },
  ]
}

/**
 * Runs in the page before its scripts: `Date` says `time` (so new messages carry it and times
 * show the same), everything else (timers, animation frames) runs as usual.
 */
function pinDate(time: number): void {
  const RealDate = Date
  class PinnedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(time)
      else super(...(args as ConstructorParameters<DateConstructor>))
    }

    static override now(): number {
      return time
    }
  }
  window.Date = PinnedDate as DateConstructor
}

/**
 * Whether two PNGs show the same picture: same size, no channel of any pixel off by more than a
 * few levels. Chromium's software raster antialiases a few edge pixels a level differently from
 * run to run; rewriting the committed file for that would dirty the tree on every test run.
 */
async function looksTheSame(browser: Browser, a: Buffer, b: Buffer): Promise<boolean> {
  const page = await browser.newPage()
  try {
    return await page.evaluate(async ([first, second]) => {
      const pixels = async (base64: string): Promise<ImageData> => {
        const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob())
        const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!
        context.drawImage(bitmap, 0, 0)
        return context.getImageData(0, 0, bitmap.width, bitmap.height)
      }
      const [x, y] = await Promise.all([pixels(first), pixels(second)])
      if (x.width !== y.width || x.height !== y.height) return false
      for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]! - y.data[i]!) > 8) return false
      return true
    }, [a.toString('base64'), b.toString('base64')] as const)
  } finally {
    await page.close()
  }
}

describe('the README picture', () => {
  it('shows the group page with a drawing, a conversation and a second person', async () => {
    const ada = await registerUser(env.api, 'Ada')
    const grace = await registerUser(env.api, 'Grace')
    const group = await createGroup(env.api, ada, 'Cabin weekend')
    await addMember(env.api, ada, group.id, grace)
    const time = sceneTime()
    const adaCanvas = await connectSynced(env.server.collabUrl, `${group.id}/canvas`, { token: ada.token })
    const graceCanvas = await connectSynced(env.server.collabUrl, `${group.id}/canvas`, { token: grace.token })
    const graceChat = await connectSynced(env.server.collabUrl, `${group.id}/chat`, { token: grace.token })
    const context = await env.browser.newContext({ viewport: { width: 1200, height: 720 }, timezoneId: 'UTC', locale: 'en-US' })
    try {
      for (const stroke of adaStrokes(ada.id)) addStroke(adaCanvas.doc, stroke)
      for (const stroke of graceStrokes(grace.id)) addStroke(graceCanvas.doc, stroke)
      postMessage(graceChat.doc, { author: grace.id, authorName: 'Grace', text: 'Drew us a kite. Is the cabin by the river?', time: time - 3 * MINUTE })
      const strokes = adaStrokes('').length + graceStrokes('').length

      const page = await context.newPage()
      await page.addInitScript(pinDate, time)
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(env.server.url)
      await logInViaUi(page, ada.email)
      await openGroup(page, group.id)
      await expectStrokeCount(page, strokes)
      await page.getByTestId('chat-input').fill('Yes, right on the bank. Bring the red paint!')
      await page.getByTestId('chat-send').click()
      await waitFor(async () => (await chatTexts(page)).length === 2, 10_000, 'both messages')
      graceCanvas.provider.awareness.setLocalStateField('user', { name: 'Grace', color: '#3cb44b' })
      graceCanvas.provider.awareness.setLocalStateField('cursor', { x: 512, y: 175 })
      await page.getByTestId('remote-cursor').waitFor({ state: 'attached' })
      await page.evaluate(() => document.fonts.ready.then(() => undefined))
      await page.mouse.move(0, 0) // no hover state on any control

      const shot = await artifactPath('app.png')
      const picture = await page.screenshot({ path: shot })
      const committed = await readFile(PICTURE).catch(() => null)
      if (!committed || !(await looksTheSame(env.browser, committed, picture))) {
        await mkdir(path.dirname(PICTURE), { recursive: true })
        await copyFile(shot, PICTURE)
      }
      expect(errors).toEqual([])
    } finally {
      for (const client of [adaCanvas, graceCanvas, graceChat]) client.destroy()
      await context.close()
    }
    expect(await readFile(path.join(ROOT, 'README.md'), 'utf8')).toContain('](docs/screenshot.png)')
  })
})
