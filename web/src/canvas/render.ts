/** Paints strokes onto a 2D canvas the way shared/canvas-svg.ts draws them as SVG. */
import type { Stroke } from '../../../shared/canvas.ts'
import { HIGHLIGHTER_OPACITY } from '../../../shared/canvas-svg.ts'
import type { ViewState } from './viewport.ts'

export const BACKGROUND = '#ffffff'

export interface Surface {
  /** CSS pixels. */
  width: number
  height: number
  /** Device pixels per CSS pixel. */
  ratio: number
}

/** Clears to the background and paints every stroke in order, through the view's zoom and pan. */
export function paint(context: CanvasRenderingContext2D, strokes: readonly Stroke[], surface: Surface, view: ViewState): void {
  const { ratio } = surface
  context.setTransform(ratio, 0, 0, ratio, 0, 0)
  context.globalAlpha = 1
  context.fillStyle = BACKGROUND
  context.fillRect(0, 0, surface.width, surface.height)
  context.setTransform(ratio * view.scale, 0, 0, ratio * view.scale, ratio * view.x, ratio * view.y)
  for (const stroke of strokes) paintStroke(context, stroke)
  context.globalAlpha = 1
}

function paintStroke(context: CanvasRenderingContext2D, stroke: Stroke): void {
  const [first, ...rest] = stroke.points
  if (!first) return
  context.globalAlpha = stroke.tool === 'highlighter' ? HIGHLIGHTER_OPACITY : 1
  if (rest.length === 0) {
    // A canvas drops zero-length segments, so a single point is painted as a dot.
    context.fillStyle = stroke.color
    context.beginPath()
    context.arc(first[0], first[1], stroke.width / 2, 0, Math.PI * 2)
    context.fill()
    return
  }
  context.strokeStyle = stroke.color
  context.lineWidth = stroke.width
  context.lineCap = 'round'
  context.lineJoin = 'round'
  context.beginPath()
  context.moveTo(first[0], first[1])
  for (const [x, y] of rest) context.lineTo(x, y)
  context.stroke()
}
