/**
 * The drawing board: a <canvas> repainted from the document (`readStrokes`) whenever it or the
 * view changes, pointer input for drawing, erasing, panning and zooming (gestures.ts), other
 * people's cursors, the toolbar and the view controls (zoom, fit to drawing).
 *
 * For tests and tools that should not read pixels, the canvas carries `data-stroke-count`
 * (strokes painted by the last render) and the view: `data-view-scale`, `data-view-x`,
 * `data-view-y` (screen = document × scale + (x, y), in CSS pixels from the canvas corner).
 */
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'
import { readStrokes, type Point } from '../../../shared/canvas.ts'
import { strokeBounds } from '../../../shared/canvas-svg.ts'
import { Disposer, frameScheduler, h, type View } from '../dom.ts'
import { wireAttribution, wireLongPress } from './attribution.ts'
import { CanvasEditor } from './editor.ts'
import { wireGestures } from './gestures.ts'
import { cursorLayer, cursorPublisher } from './presence.ts'
import { paint } from './render.ts'
import { toolbar, type ToolState } from './toolbar.ts'
import { viewControls } from './view-controls.ts'
import { Viewport, type ViewState } from './viewport.ts'

export interface BoardOptions {
  doc: Y.Doc
  awareness: Awareness
  author: string
  /** Viewers see everything live but cannot draw. */
  readOnly: boolean
  /** The server's name for a user id (hovering a stroke names who drew it). */
  nameOf(userId: string): string | undefined
}

export function board(options: BoardOptions): View {
  const disposer = new Disposer()
  const canvas = h('canvas', { class: 'board-canvas', 'data-testid': 'canvas', 'data-stroke-count': 0 })
  const viewport = new Viewport()
  const cursors = cursorLayer(options.awareness, viewport)
  disposer.add(() => cursors.dispose())
  // The first time there is ink to show, a drawing bigger than the screen is fitted (a phone would
  // otherwise open on a corner of it); one that fits as it is keeps the plain view.
  let opened = false
  const redraw = frameScheduler(() => {
    if (!opened) opened = fitOnOpen(canvas, options.doc, viewport)
    render(canvas, options.doc, viewport)
  })
  disposer.add(() => redraw.cancel())
  const controls = viewControls(viewport, {
    zoom: (factor) => viewport.zoomAt(center(canvas), factor),
    fit: () => {
      const { width, height } = canvas.getBoundingClientRect()
      viewport.fit(strokeBounds(readStrokes(options.doc)), width, height)
    },
  })
  disposer.add(() => controls.dispose())
  const surface = h('div', { class: 'board-surface' }, canvas, cursors.element, controls.element)
  const onUpdate = (): void => redraw.schedule()
  options.doc.on('update', onUpdate)
  disposer.add(() => options.doc.off('update', onUpdate))
  disposer.add(viewport.onChange(() => {
    showView(canvas, viewport.view)
    redraw.schedule()
  }))
  showView(canvas, viewport.view)
  const resize = new ResizeObserver(() => redraw.schedule())
  resize.observe(surface)
  disposer.add(() => resize.disconnect())
  redraw.schedule()

  const tools: ToolState = { tool: 'pen', color: '#1f6feb', width: 4 }
  const editor = new CanvasEditor(options.doc, options.author)
  disposer.add(() => editor.destroy())
  const bar = toolbar(tools, { undo: () => editor.undo(), redo: () => editor.redo() })
  trackHistory(editor, bar.setHistory, disposer)
  const cursor = cursorPublisher(options.awareness)
  disposer.add(() => cursor.cancel())
  const attribution = { canvas, layer: surface, doc: options.doc, viewport, nameOf: options.nameOf }
  const longPressed = wireLongPress(attribution, disposer)
  wireGestures({ canvas, editor, tools, viewport, cursor, readOnly: options.readOnly, longPressed }, disposer)
  wireAttribution(attribution, disposer)
  if (!options.readOnly) wireKeys(editor, disposer)
  const element = h('section', { class: 'board', 'aria-label': 'Canvas' }, options.readOnly ? h('p', { class: 'note' }, 'You are a viewer: you can watch, not draw.') : bar.element, surface)
  return { element, dispose: () => disposer.dispose() }
}

function render(canvas: HTMLCanvasElement, doc: Y.Doc, viewport: Viewport): void {
  const { width, height } = canvas.getBoundingClientRect()
  const ratio = window.devicePixelRatio || 1
  const pixelWidth = Math.max(1, Math.round(width * ratio))
  const pixelHeight = Math.max(1, Math.round(height * ratio))
  if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
    canvas.width = pixelWidth
    canvas.height = pixelHeight
  }
  const context = canvas.getContext('2d')
  if (!context) return
  const strokes = readStrokes(doc)
  paint(context, strokes, { width, height, ratio }, viewport.view)
  canvas.dataset.strokeCount = String(strokes.length)
}

/** Fits the ink to the canvas if it overflows it; false while there is no ink or no size yet. */
function fitOnOpen(canvas: HTMLCanvasElement, doc: Y.Doc, viewport: Viewport): boolean {
  const { width, height } = canvas.getBoundingClientRect()
  const bounds = strokeBounds(readStrokes(doc))
  if (!bounds || width === 0 || height === 0) return false
  const [left, top] = viewport.toScreen([bounds.minX, bounds.minY])
  const [right, bottom] = viewport.toScreen([bounds.maxX, bounds.maxY])
  if (left < 0 || top < 0 || right > width || bottom > height) viewport.fit(bounds, width, height)
  return true
}

/** The view on the element, for tests and tools that map screen points to the document. */
function showView(canvas: HTMLCanvasElement, view: ViewState): void {
  canvas.dataset.viewScale = String(view.scale)
  canvas.dataset.viewX = String(view.x)
  canvas.dataset.viewY = String(view.y)
}

function center(canvas: HTMLCanvasElement): Point {
  const { width, height } = canvas.getBoundingClientRect()
  return [width / 2, height / 2]
}

function trackHistory(editor: CanvasEditor, show: (canUndo: boolean, canRedo: boolean) => void, disposer: Disposer): void {
  const manager = editor.undoManager
  const update = (): void => show(manager.canUndo(), manager.canRedo())
  for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
    manager.on(event, update)
    disposer.add(() => manager.off(event, update))
  }
}

function wireKeys(editor: CanvasEditor, disposer: Disposer): void {
  disposer.listen<KeyboardEvent>(window, 'keydown', (event) => {
    const target = event.target as HTMLElement | null
    if (!(event.ctrlKey || event.metaKey) || target?.closest('input, textarea')) return
    const key = event.key.toLowerCase()
    if (key === 'z' && !event.shiftKey) editor.undo()
    else if ((key === 'z' && event.shiftKey) || key === 'y') editor.redo()
    else return
    event.preventDefault()
  })
}
