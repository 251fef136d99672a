/**
 * The drawing board: a <canvas> repainted from the document (`readStrokes`) whenever it changes,
 * pointer input for drawing and erasing, other people's cursors, and the toolbar.
 *
 * For tests and tools that should not read pixels, the canvas carries `data-stroke-count`
 * (strokes painted by the last render).
 */
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'
import { readStrokes, type Point } from '../../../shared/canvas.ts'
import { Disposer, frameScheduler, h, type View } from '../dom.ts'
import { CanvasEditor } from './editor.ts'
import { cursorLayer, cursorPublisher } from './presence.ts'
import { paint } from './render.ts'
import { toolbar, type ToolState } from './toolbar.ts'

export interface BoardOptions {
  doc: Y.Doc
  awareness: Awareness
  author: string
  /** Viewers see everything live but cannot draw. */
  readOnly: boolean
}

export function board(options: BoardOptions): View {
  const disposer = new Disposer()
  const canvas = h('canvas', { class: 'board-canvas', 'data-testid': 'canvas', 'data-stroke-count': 0 })
  const cursors = cursorLayer(options.awareness)
  disposer.add(() => cursors.dispose())
  const surface = h('div', { class: 'board-surface' }, canvas, cursors.element)
  const redraw = frameScheduler(() => render(canvas, options.doc))
  disposer.add(() => redraw.cancel())
  const onUpdate = (): void => redraw.schedule()
  options.doc.on('update', onUpdate)
  disposer.add(() => options.doc.off('update', onUpdate))
  const resize = new ResizeObserver(() => redraw.schedule())
  resize.observe(surface)
  disposer.add(() => resize.disconnect())
  redraw.schedule()

  const tools: ToolState = { tool: 'pen', color: '#1f6feb', width: 4 }
  const editor = new CanvasEditor(options.doc, options.author)
  disposer.add(() => editor.destroy())
  const bar = toolbar(tools, { undo: () => editor.undo(), redo: () => editor.redo() })
  trackHistory(editor, bar.setHistory, disposer)
  wirePointer(canvas, editor, tools, options, disposer)
  if (!options.readOnly) wireKeys(editor, disposer)
  const element = h('section', { class: 'board', 'aria-label': 'Canvas' }, options.readOnly ? h('p', { class: 'note' }, 'You are a viewer: you can watch, not draw.') : bar.element, surface)
  return { element, dispose: () => disposer.dispose() }
}

function render(canvas: HTMLCanvasElement, doc: Y.Doc): void {
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
  context.setTransform(ratio, 0, 0, ratio, 0, 0)
  const strokes = readStrokes(doc)
  paint(context, strokes, width, height)
  canvas.dataset.strokeCount = String(strokes.length)
}

function trackHistory(editor: CanvasEditor, show: (canUndo: boolean, canRedo: boolean) => void, disposer: Disposer): void {
  const manager = editor.undoManager
  const update = (): void => show(manager.canUndo(), manager.canRedo())
  for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
    manager.on(event, update)
    disposer.add(() => manager.off(event, update))
  }
}

function wirePointer(canvas: HTMLCanvasElement, editor: CanvasEditor, tools: ToolState, options: BoardOptions, disposer: Disposer): void {
  const cursor = cursorPublisher(options.awareness)
  disposer.add(() => cursor.cancel())
  let gesture: 'draw' | 'erase' | null = null
  const at = (event: PointerEvent): Point => {
    const box = canvas.getBoundingClientRect()
    return [event.clientX - box.left, event.clientY - box.top]
  }
  disposer.listen<PointerEvent>(canvas, 'pointerdown', (event) => {
    if (options.readOnly || event.button !== 0) return
    canvas.setPointerCapture(event.pointerId)
    gesture = tools.tool === 'eraser' ? 'erase' : 'draw'
    editor.begin(at(event), tools)
    event.preventDefault()
  })
  disposer.listen<PointerEvent>(canvas, 'pointermove', (event) => {
    const point = at(event)
    cursor.move(point[0], point[1])
    if (gesture === 'draw') editor.extend(coalesced(event).map(at))
    else if (gesture === 'erase') editor.eraseAt(point)
  })
  const finish = (): void => {
    if (gesture !== null) editor.end()
    gesture = null
  }
  disposer.listen(canvas, 'pointerup', finish)
  disposer.listen(canvas, 'pointercancel', finish)
  disposer.listen(canvas, 'pointerleave', () => cursor.hide())
}

/** Pointer moves the browser merged into this event, so fast strokes keep their shape. */
function coalesced(event: PointerEvent): PointerEvent[] {
  const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : []
  return events.length > 0 ? events : [event]
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
