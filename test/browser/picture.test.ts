/**
 * The canvas as a picture: strokes drawn in the browser come back from
 * GET /groups/:id/canvas.svg with the right count, colours and highlighter transparency, and the
 * SVG is well-formed for a browser. Screenshots of the group page and of the SVG are saved
 * under test-artifacts/ for people to look at.
 */
import { writeFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { HIGHLIGHTER_OPACITY } from '../../shared/canvas-svg.ts'
import {
  artifactPath, canvasSvg, chooseColor, drawStroke, expectStrokeCount, postChat, svgStrokeColors, unexpectedErrors,
  useBrowserEnv, useOwnerOnGroupPage,
} from './harness.ts'

const env = useBrowserEnv()

describe('the canvas as a picture', () => {
  const owner = useOwnerOnGroupPage(env, 'Pia', 'Gallery')

  it('saves a screenshot and serves an SVG with the drawn strokes in their colours', async () => {
    const { user, groupId } = owner
    const { page } = user
    await chooseColor(page, '#e53935')
    await drawStroke(page, [[80, 80], [160, 60], [240, 120], [320, 100]])
    await chooseColor(page, '#43a047')
    await page.getByTestId('width').fill('14')
    await page.getByTestId('tool-highlighter').click()
    await drawStroke(page, [[90, 220], [380, 220]])
    await chooseColor(page, '#1e88e5')
    await page.getByTestId('tool-pen').click()
    await drawStroke(page, [[420, 300], [430, 310]])
    await postChat(page, 'A red line, a green highlight and a blue dash')
    await expectStrokeCount(page, 3)
    await page.screenshot({ path: await artifactPath('canvas-page.png') })

    const svg = await canvasSvg(env, groupId, page)
    await writeFile(await artifactPath('canvas.svg'), svg)
    expect(svgStrokeColors(svg)).toEqual(['#e53935', '#43a047', '#1e88e5'])
    expect(svg.match(/stroke-opacity="([\d.]+)"/g)).toEqual([`stroke-opacity="${HIGHLIGHTER_OPACITY}"`])
    expect(svg).toMatch(/<path [^>]*stroke="#43a047" stroke-width="14"/)

    // A browser parses it as SVG (no parser error) and finds one path per stroke.
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml')
      return { error: doc.querySelector('parsererror') !== null, root: doc.documentElement.localName, paths: doc.querySelectorAll('path').length }
    }, svg)
    expect(parsed).toEqual({ error: false, root: 'svg', paths: 3 })

    const picture = await env.browser.newPage()
    await picture.setContent(`<body style="margin:0;background:#fff">${svg}</body>`)
    await picture.locator('svg').screenshot({ path: await artifactPath('canvas-svg.png') })
    await picture.close()
    expect(unexpectedErrors(user)).toEqual([])
  })
})
