/**
 * The canvas as a picture: strokes (as `readStrokes` returns them) rendered to an SVG string.
 * Pure and dependency-free so the server (GET /groups/:id/canvas.svg) and the web client agree
 * on how a stroke looks. One <path> per stroke, in paint order.
 */
import { CANVAS_LIMITS, isColor, type Stroke } from './canvas.ts'

/** Highlighter strokes are see-through, so what they mark stays readable. */
export const HIGHLIGHTER_OPACITY = 0.35

/** Space kept around the drawing, in canvas units. */
export const SVG_PADDING = 16

export interface Bounds {
  minX: number
  minY: number
  maxX: number
  maxY: number
}

const SVG_NS = 'http://www.w3.org/2000/svg'
const FALLBACK_COLOR = '#000000'

/** The area the strokes' ink covers (points widened by half the stroke width), or null if none. */
export function strokeBounds(strokes: readonly Stroke[]): Bounds | null {
  let minX = Infinity
  let minY = Infinity
  let maxX = -Infinity
  let maxY = -Infinity
  for (const stroke of strokes) {
    const half = safeWidth(stroke.width) / 2
    for (const [x, y] of stroke.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue
      minX = Math.min(minX, x - half)
      minY = Math.min(minY, y - half)
      maxX = Math.max(maxX, x + half)
      maxY = Math.max(maxY, y + half)
    }
  }
  return minX === Infinity ? null : { minX, minY, maxX, maxY }
}

export function renderCanvasSvg(strokes: readonly Stroke[], padding = SVG_PADDING): string {
  const bounds = strokeBounds(strokes)
  if (!bounds) return svgDocument({ minX: 0, minY: 0, maxX: padding * 2, maxY: padding * 2 }, '')
  const box = { minX: bounds.minX - padding, minY: bounds.minY - padding, maxX: bounds.maxX + padding, maxY: bounds.maxY + padding }
  const body = strokes.map(strokeElement).filter((element) => element !== '').join('')
  return svgDocument(box, body)
}

function svgDocument(box: Bounds, body: string): string {
  const width = num(box.maxX - box.minX)
  const height = num(box.maxY - box.minY)
  return `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="${num(box.minX)} ${num(box.minY)} ${width} ${height}">${body}</svg>`
}

/** A stroke with no points draws nothing, so it gets no element. */
function strokeElement(stroke: Stroke): string {
  const points = stroke.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const first = points[0]
  if (!first) return ''
  // A lone point repeats itself: a zero-length segment with round caps paints a dot.
  const rest = points.length > 1 ? points.slice(1) : [first]
  const d = `M${num(first[0])} ${num(first[1])}` + rest.map(([x, y]) => `L${num(x)} ${num(y)}`).join('')
  const color = isColor(stroke.color) ? stroke.color : FALLBACK_COLOR
  const opacity = stroke.tool === 'highlighter' ? ` stroke-opacity="${HIGHLIGHTER_OPACITY}"` : ''
  const id = escapeAttribute(stroke.id.slice(0, CANVAS_LIMITS.maxIdLength))
  const author = escapeAttribute(stroke.author.slice(0, CANVAS_LIMITS.maxIdLength))
  return `<path data-id="${id}" data-author="${author}" d="${d}" fill="none" stroke="${color}" stroke-width="${num(safeWidth(stroke.width))}"${opacity} stroke-linecap="round" stroke-linejoin="round"/>`
}

function safeWidth(width: number): number {
  return Number.isFinite(width) && width > 0 ? width : 1
}

/** Short, exponent-free numbers (coordinates are bounded well below 1e21 by the schema). */
function num(value: number): string {
  const rounded = Math.round(value * 100) / 100
  return String(Object.is(rounded, -0) ? 0 : rounded)
}

/** Characters XML 1.0 forbids even when escaped (control characters, lone surrogates, U+FFFE/F). */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Safe inside a double- or single-quoted XML attribute. */
export function escapeAttribute(value: string): string {
  return value.replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
