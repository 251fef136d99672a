/** The canvas view's arithmetic (web/src/canvas/viewport.ts): pure, so tested without a browser. */
import { describe, expect, it } from 'vitest'
import type { Point } from '../../shared/canvas.ts'
import { MAX_SCALE, MIN_SCALE, Viewport } from '../../web/src/canvas/viewport.ts'

function expectPoint(actual: Point, expected: Point): void {
  expect(actual[0]).toBeCloseTo(expected[0], 9)
  expect(actual[1]).toBeCloseTo(expected[1], 9)
}

describe('Viewport', () => {
  it('maps screen to document and back through zoom and pan', () => {
    const view = new Viewport()
    view.panBy(30, -20)
    view.zoomAt([100, 100], 2)
    const screen: Point = [250, 75]
    expectPoint(view.toScreen(view.toDocument(screen)), screen)
  })

  it('zooms around the given screen point: the document point under it stays there', () => {
    const view = new Viewport()
    view.panBy(13, 7)
    const at: Point = [200, 150]
    const under = view.toDocument(at)
    view.zoomAt(at, 3)
    expect(view.view.scale).toBe(3)
    expectPoint(view.toScreen(under), at)
  })

  it('pinches: zoom follows the fingers\' distance, the point between them follows their midpoint', () => {
    const view = new Viewport()
    const under = view.toDocument([150, 100])
    view.pinch([[100, 100], [200, 100]], [[120, 140], [320, 140]])
    expect(view.view.scale).toBeCloseTo(2, 9)
    expectPoint(view.toScreen(under), [220, 140])
  })

  it('clamps the zoom and ignores non-finite input', () => {
    const view = new Viewport()
    view.zoomAt([0, 0], 1e6)
    expect(view.view.scale).toBe(MAX_SCALE)
    view.zoomAt([0, 0], 1e-9)
    expect(view.view.scale).toBe(MIN_SCALE)
    const before = { ...view.view }
    view.panBy(Number.NaN, 1)
    expect(view.view).toEqual(before)
  })

  it('fits the ink centred, never past 100%, and resets for an empty drawing', () => {
    const view = new Viewport()
    view.fit({ minX: 0, minY: 0, maxX: 1000, maxY: 500 }, 390, 400)
    const { scale } = view.view
    expect(scale).toBeCloseTo((390 - 48) / 1000, 9)
    expectPoint(view.toScreen([500, 250]), [195, 200])
    view.fit({ minX: 10, minY: 10, maxX: 20, maxY: 20 }, 390, 400)
    expect(view.view.scale).toBe(1)
    view.fit(null, 390, 400)
    expect(view.view).toEqual({ scale: 1, x: 0, y: 0 })
  })

  it('tells listeners about every change', () => {
    const view = new Viewport()
    let calls = 0
    const stop = view.onChange(() => calls++)
    view.panBy(1, 1)
    view.zoomAt([0, 0], 2)
    stop()
    view.panBy(1, 1)
    expect(calls).toBe(2)
  })
})
