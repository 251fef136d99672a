/**
 * The view onto the canvas document: a zoom and a pan. Strokes and cursors are stored in
 * document coordinates; a screen point (CSS pixels from the canvas element's top-left corner) is
 * `document × scale + (x, y)`. Only rendering and pointer mapping go through here, so zooming
 * never changes what is stored or what others see.
 */
import type { Point } from '../../../shared/canvas.ts'
import type { Bounds } from '../../../shared/canvas-svg.ts'

export interface ViewState {
  scale: number
  x: number
  y: number
}

export const MIN_SCALE = 0.05
export const MAX_SCALE = 8
/** Margin around the drawing when fitting it, in screen pixels. */
const FIT_MARGIN = 24

export class Viewport {
  private state: ViewState = { scale: 1, x: 0, y: 0 }
  private readonly listeners = new Set<() => void>()

  get view(): Readonly<ViewState> {
    return this.state
  }

  /** Called after every change of zoom or pan. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  toDocument([sx, sy]: Point): Point {
    const { scale, x, y } = this.state
    return [(sx - x) / scale, (sy - y) / scale]
  }

  toScreen([dx, dy]: Point): Point {
    const { scale, x, y } = this.state
    return [dx * scale + x, dy * scale + y]
  }

  panBy(dx: number, dy: number): void {
    this.set({ ...this.state, x: this.state.x + dx, y: this.state.y + dy })
  }

  /** Zooms by `factor`, keeping the document point under `screen` where it is. */
  zoomAt(screen: Point, factor: number): void {
    this.keepAnchor(this.toDocument(screen), screen, this.state.scale * factor)
  }

  /**
   * Two fingers moved from `before` to `after`: the zoom follows the change of their distance,
   * and the document point under their midpoint follows the midpoint (pan and zoom at once).
   */
  pinch(before: readonly [Point, Point], after: readonly [Point, Point]): void {
    const from = distance(before[0], before[1])
    const to = distance(after[0], after[1])
    const factor = from > 0 && to > 0 ? to / from : 1
    this.keepAnchor(this.toDocument(midpoint(before)), midpoint(after), this.state.scale * factor)
  }

  /** Shows all of `bounds` centred in a `width` × `height` screen, never magnified past 100%. */
  fit(bounds: Bounds | null, width: number, height: number): void {
    if (!bounds) return this.set({ scale: 1, x: 0, y: 0 })
    const inkWidth = Math.max(1, bounds.maxX - bounds.minX)
    const inkHeight = Math.max(1, bounds.maxY - bounds.minY)
    const room = (size: number): number => Math.max(1, size - 2 * FIT_MARGIN)
    const scale = clampScale(Math.min(1, room(width) / inkWidth, room(height) / inkHeight))
    const center: Point = [(bounds.minX + bounds.maxX) / 2, (bounds.minY + bounds.maxY) / 2]
    this.set({ scale, x: width / 2 - center[0] * scale, y: height / 2 - center[1] * scale })
  }

  private keepAnchor(anchor: Point, screen: Point, scale: number): void {
    const clamped = clampScale(scale)
    this.set({ scale: clamped, x: screen[0] - anchor[0] * clamped, y: screen[1] - anchor[1] * clamped })
  }

  private set(next: ViewState): void {
    if (![next.scale, next.x, next.y].every(Number.isFinite)) return
    this.state = next
    for (const listener of this.listeners) listener()
  }
}

function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale))
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1])
}

function midpoint([a, b]: readonly [Point, Point]): Point {
  return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]
}
