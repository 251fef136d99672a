/** Which stroke is under a point: the topmost one whose ink passes within reach of it. */
import type { Point, Stroke } from '../../../shared/canvas.ts'

/** Extra reach around the ink, so thin strokes can be erased without pixel precision. */
export const ERASER_TOLERANCE = 6

export function strokeAt(strokes: readonly Stroke[], point: Point, tolerance = ERASER_TOLERANCE): Stroke | undefined {
  for (let i = strokes.length - 1; i >= 0; i--) {
    const stroke = strokes[i]
    if (stroke && touches(stroke, point, stroke.width / 2 + tolerance)) return stroke
  }
  return undefined
}

function touches(stroke: Stroke, point: Point, reach: number): boolean {
  const points = stroke.points
  if (points.length === 1 && points[0]) return distance(point, points[0], points[0]) <= reach
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]
    const b = points[i]
    if (a && b && distance(point, a, b) <= reach) return true
  }
  return false
}

/** Distance from `p` to the segment a–b. */
function distance(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0]
  const dy = b[1] - a[1]
  const lengthSquared = dx * dx + dy * dy
  const t = lengthSquared === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / lengthSquared))
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))
}
