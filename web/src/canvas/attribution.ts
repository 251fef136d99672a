/**
 * Who drew what: hovering a stroke names its author (the canvas's tooltip, and
 * `data-hover-author` for tests). A stroke's `author` is checked by the server to be the user
 * who drew it; the name comes from the server's member list.
 */
import type * as Y from 'yjs'
import { readStrokes, type Point } from '../../../shared/canvas.ts'
import type { Disposer } from '../dom.ts'
import { strokeAt } from './hit-test.ts'
import type { Viewport } from './viewport.ts'

export interface AttributionOptions {
  canvas: HTMLCanvasElement
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
