/**
 * Who drew what: hovering a stroke names its author (the canvas's tooltip, and
 * `data-hover-author` for tests); on a touch screen, a long press on a stroke shows its author
 * in a bubble (`stroke-author`) by the finger (a touch that does not move draws nothing). A stroke's `author` is checked by the server to be the user
 * who drew it; the name comes from the server's member list.
 */
import type * as Y from 'yjs'
import { readStrokes, type Point } from '../../../shared/canvas.ts'
import { h, type Disposer } from '../dom.ts'
import { strokeAt } from './hit-test.ts'
import type { Viewport } from './viewport.ts'

export interface AttributionOptions {
  canvas: HTMLCanvasElement
  /** Where the long-press bubble goes (positioned over the canvas). */
  layer: HTMLElement
  doc: Y.Doc
  viewport: Viewport
  nameOf(userId: string): string | undefined
}

export function wireAttribution(options: AttributionOptions, disposer: Disposer): void {
  const { canvas, doc, viewport } = options
  disposer.listen<PointerEvent>(canvas, 'pointermove', (event) => {
    if (event.buttons !== 0) return // drawing, erasing or panning
    const rect = canvas.getBoundingClientRect()
    const point: Point = viewport.toDocument([event.clientX - rect.left, event.clientY - rect.top])
    const stroke = strokeAt(readStrokes(doc), point, 2 / viewport.view.scale)
    if (!stroke) {
      canvas.removeAttribute('title')
      delete canvas.dataset.hoverAuthor
      return
    }
    canvas.title = `Drawn by ${options.nameOf(stroke.author) ?? 'a former member'}`
    canvas.dataset.hoverAuthor = stroke.author
  })
}

const LONG_PRESS_MS = 500
const PRESS_SLOP_PX = 8
const BUBBLE_MS = 3_000

/**
 * A still finger held on a stroke names its author in a bubble for a few seconds. Returns whether
 * a pointer's touch was such a press (its lifting then draws no dot).
 */
export function wireLongPress(options: AttributionOptions, disposer: Disposer): (pointerId: number) => boolean {
  const { canvas, doc, viewport, layer } = options
  const bubble = h('div', { class: 'stroke-author', 'data-testid': 'stroke-author', role: 'status', hidden: true })
  layer.append(bubble)
  let press: { id: number; x: number; y: number; timer: ReturnType<typeof setTimeout> } | null = null
  let hide: ReturnType<typeof setTimeout> | undefined
  let pressed: number | null = null
  const cancel = (): void => {
    if (press) clearTimeout(press.timer)
    press = null
  }
  disposer.add(() => { cancel(); clearTimeout(hide); bubble.remove() })
  disposer.listen<PointerEvent>(canvas, 'pointerdown', (event) => {
    cancel()
    pressed = null
    if (event.pointerType !== 'touch') return
    const rect = canvas.getBoundingClientRect()
    const x = event.clientX - rect.left
    const y = event.clientY - rect.top
    const id = event.pointerId
    press = { id, x, y, timer: setTimeout(() => {
      press = null
      pressed = id
      const stroke = strokeAt(readStrokes(doc), viewport.toDocument([x, y]), 12 / viewport.view.scale)
      if (!stroke) return
      bubble.textContent = `Drawn by ${options.nameOf(stroke.author) ?? 'a former member'}`
      bubble.dataset.author = stroke.author
      bubble.style.left = `${x}px`
      bubble.style.top = `${y}px`
      bubble.hidden = false
      clearTimeout(hide)
      hide = setTimeout(() => { bubble.hidden = true }, BUBBLE_MS)
    }, LONG_PRESS_MS) }
  })
  disposer.listen<PointerEvent>(canvas, 'pointermove', (event) => {
    if (!press || event.pointerId !== press.id) return
    const rect = canvas.getBoundingClientRect()
    if (Math.hypot(event.clientX - rect.left - press.x, event.clientY - rect.top - press.y) > PRESS_SLOP_PX) cancel()
  })
  for (const type of ['pointerup', 'pointercancel']) disposer.listen<PointerEvent>(canvas, type, cancel)
  return (pointerId) => pressed === pointerId
}
