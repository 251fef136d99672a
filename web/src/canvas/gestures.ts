/**
 * Pointer input on the canvas, for mouse, pen and touch alike (pointer events; the canvas has
 * `touch-action: none`, so the browser never scrolls or zooms the page from it):
 * - one pointer draws or erases with the chosen tool; with the hand tool, the middle button,
 *   Space held down, or for viewers, it pans;
 * - two touches pinch: the zoom follows their distance and the drawing follows their midpoint;
 * - the wheel (and a trackpad pinch, which browsers send as a wheel with Ctrl) zooms at the pointer.
 *
 * A touch starts a stroke only once it has moved a few pixels (or lifts: a dot), so the first
 * finger of a pinch leaves no mark. Everything stored is in document coordinates.
 */
import type { Point } from '../../../shared/canvas.ts'
import type { Disposer } from '../dom.ts'
import type { CanvasEditor } from './editor.ts'
import { ERASER_TOLERANCE } from './hit-test.ts'
import type { ToolState } from './toolbar.ts'
import type { Viewport } from './viewport.ts'

/** How far (screen pixels) a touch moves before it counts as drawing. */
const TOUCH_SLOP = 4
/** Zoom per wheel pixel: 100 px of wheel ≈ ×1.22. */
const WHEEL_ZOOM = 0.002
const LINE_PIXELS = 16

export interface CursorSink {
  move(x: number, y: number): void
  hide(): void
}

export interface GestureOptions {
  canvas: HTMLCanvasElement
  editor: CanvasEditor
  tools: ToolState
  viewport: Viewport
  cursor: CursorSink
  readOnly: boolean
  /** Whether this touch was a long press (it names a stroke's author; lifting it draws no dot). */
  longPressed?(pointerId: number): boolean
}

type Gesture =
  | { kind: 'none' }
  | { kind: 'touch-pending'; pointer: number; start: Point }
  | { kind: 'draw' | 'erase'; pointer: number }
  | { kind: 'pan'; pointer: number }
  | { kind: 'pinch'; pointers: [number, number] }

export function wireGestures(options: GestureOptions, disposer: Disposer): void {
  const { canvas } = options
  const input = new GestureInput(options)
  disposer.listen<PointerEvent>(canvas, 'pointerdown', (event) => input.down(event))
  disposer.listen<PointerEvent>(canvas, 'pointermove', (event) => input.move(event))
  disposer.listen<PointerEvent>(canvas, 'pointerup', (event) => input.up(event, false))
  disposer.listen<PointerEvent>(canvas, 'pointercancel', (event) => input.up(event, true))
  disposer.listen(canvas, 'pointerleave', () => options.cursor.hide())
  disposer.listen<WheelEvent>(canvas, 'wheel', (event) => input.wheel(event), { passive: false })
  disposer.listen<KeyboardEvent>(window, 'keydown', (event) => input.space(event, true))
  disposer.listen<KeyboardEvent>(window, 'keyup', (event) => input.space(event, false))
  disposer.listen(window, 'blur', () => input.releaseSpace())
}

class GestureInput {
  private readonly options: GestureOptions
  /** Where each pointer that is down is now (screen coordinates). */
  private readonly pointers = new Map<number, Point>()
  private gesture: Gesture = { kind: 'none' }
  private spaceHeld = false

  constructor(options: GestureOptions) {
    this.options = options
  }

  down(event: PointerEvent): void {
    const { canvas, editor, tools, readOnly } = this.options
    canvas.setPointerCapture(event.pointerId)
    this.pointers.set(event.pointerId, this.screen(event))
    event.preventDefault()
    if (this.pointers.size >= 2) return this.startPinch()
    if (readOnly || this.spaceHeld || tools.tool === 'hand' || event.button === 1) {
      this.gesture = { kind: 'pan', pointer: event.pointerId }
    } else if (event.button !== 0) {
      this.pointers.delete(event.pointerId)
    } else if (tools.tool === 'eraser') {
      this.gesture = { kind: 'erase', pointer: event.pointerId }
      this.erase(event)
    } else if (event.pointerType === 'touch') {
      this.gesture = { kind: 'touch-pending', pointer: event.pointerId, start: this.screen(event) }
    } else {
      this.gesture = { kind: 'draw', pointer: event.pointerId }
      editor.begin(this.document(event), tools)
    }
  }

  move(event: PointerEvent): void {
    const [x, y] = this.document(event)
    this.options.cursor.move(x, y)
    const before = this.pointers.get(event.pointerId)
    if (!before) return
    const now = this.screen(event)
    this.pointers.set(event.pointerId, now)
    const gesture = this.gesture
    if (gesture.kind === 'pinch') return this.pinchMoved(gesture.pointers, event.pointerId, before)
    if (!('pointer' in gesture) || gesture.pointer !== event.pointerId) return
    if (gesture.kind === 'pan') this.options.viewport.panBy(now[0] - before[0], now[1] - before[1])
    else if (gesture.kind === 'erase') this.erase(event)
    else if (gesture.kind === 'draw') this.options.editor.extend(coalesced(event).map((e) => this.document(e)))
    else if (gesture.kind === 'touch-pending' && distance(now, gesture.start) >= TOUCH_SLOP) this.startTouchStroke(gesture.start, event)
  }

  up(event: PointerEvent, cancelled: boolean): void {
    if (!this.pointers.delete(event.pointerId)) return
    const gesture = this.gesture
    if (gesture.kind === 'pinch') {
      // The finger left on the glass keeps moving the view, never starts drawing.
      const [rest] = [...this.pointers.keys()]
      this.gesture = rest === undefined ? { kind: 'none' } : { kind: 'pan', pointer: rest }
      return
    }
    if (!('pointer' in gesture) || gesture.pointer !== event.pointerId) return
    if (gesture.kind === 'touch-pending' && !cancelled && !this.options.longPressed?.(event.pointerId)) this.dot(gesture.start)
    if (gesture.kind === 'draw' || gesture.kind === 'erase') this.options.editor.end()
    this.gesture = { kind: 'none' }
  }

  wheel(event: WheelEvent): void {
    event.preventDefault()
    const pixels = event.deltaMode === WheelEvent.DOM_DELTA_LINE ? event.deltaY * LINE_PIXELS : event.deltaY
    this.options.viewport.zoomAt(this.screen(event), Math.exp(-pixels * WHEEL_ZOOM))
  }

  space(event: KeyboardEvent, down: boolean): void {
    if (event.code !== 'Space' || (event.target as HTMLElement | null)?.closest('input, textarea, button, select')) return
    event.preventDefault() // no page scroll
    this.spaceHeld = down
    this.options.canvas.classList.toggle('panning', down)
  }

  releaseSpace(): void {
    this.spaceHeld = false
    this.options.canvas.classList.remove('panning')
  }

  private startPinch(): void {
    const gesture = this.gesture
    if (gesture.kind === 'draw' || gesture.kind === 'erase') this.options.editor.end()
    const [a, b] = [...this.pointers.keys()]
    if (a !== undefined && b !== undefined) this.gesture = { kind: 'pinch', pointers: [a, b] }
  }

  private pinchMoved(pair: [number, number], moved: number, before: Point): void {
    const [a, b] = pair.map((id) => this.pointers.get(id))
    if (!a || !b || !pair.includes(moved)) return
    const previous: [Point, Point] = moved === pair[0] ? [before, b] : [a, before]
    this.options.viewport.pinch(previous, [a, b])
  }

  private startTouchStroke(start: Point, event: PointerEvent): void {
    const { editor, tools, viewport } = this.options
    this.gesture = { kind: 'draw', pointer: event.pointerId }
    editor.begin(viewport.toDocument(start), tools)
    editor.extend(coalesced(event).map((e) => this.document(e)))
  }

  private dot(at: Point): void {
    this.options.editor.begin(this.options.viewport.toDocument(at), this.options.tools)
    this.options.editor.end()
  }

  private erase(event: PointerEvent): void {
    const { editor, viewport } = this.options
    editor.eraseAt(this.document(event), ERASER_TOLERANCE / viewport.view.scale)
  }

  private screen(event: MouseEvent): Point {
    const box = this.options.canvas.getBoundingClientRect()
    return [event.clientX - box.left, event.clientY - box.top]
  }

  private document(event: MouseEvent): Point {
    return this.options.viewport.toDocument(this.screen(event))
  }
}

/** Pointer moves the browser merged into this event, so fast strokes keep their shape. */
function coalesced(event: PointerEvent): PointerEvent[] {
  const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : []
  return events.length > 0 ? events : [event]
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1])
}
