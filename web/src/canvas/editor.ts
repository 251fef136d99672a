/**
 * Local edits to the canvas document: drawing (a stroke is added, then its points stream in as
 * the pointer moves, so others watch it being drawn), erasing and undo/redo.
 *
 * Every local edit carries LOCAL_ORIGIN and the UndoManager tracks only that origin, so undo
 * never touches other people's strokes (nor what IndexedDB or the server delivered). One
 * gesture is one undo step: capturing is cut at the start and end of each gesture instead of by
 * time, so a slow stroke does not split into several steps.
 */
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes, strokesOf, type Point } from '../../../shared/canvas.ts'
import { ERASER_TOLERANCE, strokeAt } from './hit-test.ts'
import type { ToolState } from './toolbar.ts'

export const LOCAL_ORIGIN = 'local-edit'

/** Points closer than this to the previous one add nothing visible. */
const MIN_STEP = 1

export class CanvasEditor {
  readonly undoManager: Y.UndoManager
  private readonly doc: Y.Doc
  private readonly author: string
  private stroke: Y.Map<unknown> | null = null
  private last: Point | null = null

  constructor(doc: Y.Doc, author: string) {
    this.doc = doc
    this.author = author
    this.undoManager = new Y.UndoManager(strokesOf(doc), { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout: Number.MAX_SAFE_INTEGER })
    doc.on('afterTransaction', this.pruneAfterOthers)
  }

  /**
   * Someone else erased or restored over strokes drawn here: their undo steps would do nothing,
   * so they go (Undo is disabled when nothing is left, rather than enabled and idle).
   */
  private readonly pruneAfterOthers = (transaction: Y.Transaction): void => {
    const manager = this.undoManager
    if (transaction.origin === LOCAL_ORIGIN || transaction.origin === manager || transaction.deleteSet.clients.size === 0) return
    const kept = manager.undoStack.filter((item) => item.deletions.clients.size > 0 || somethingLeft(transaction, item.insertions))
    if (kept.length === manager.undoStack.length) return
    manager.undoStack = kept
    manager.emit('stack-cleared', [{ undoStackCleared: true, redoStackCleared: false }])
  }

  get drawing(): boolean {
    return this.stroke !== null
  }

  begin(point: Point, tool: ToolState): void {
    this.undoManager.stopCapturing()
    const kind = tool.tool
    if (kind === 'eraser') return this.eraseAt(point)
    if (kind === 'hand') return
    const at = round(point)
    this.doc.transact(() => {
      this.stroke = addStroke(this.doc, { author: this.author, color: tool.color, width: tool.width, tool: kind, points: [at] })
    }, LOCAL_ORIGIN)
    this.last = at
  }

  /** Streams the next points of the stroke being drawn. */
  extend(points: readonly Point[]): void {
    const stroke = this.stroke
    if (!stroke) return
    const fresh = this.farEnough(points)
    if (fresh.length === 0) return
    let alive = true
    this.doc.transact(() => { alive = appendPoints(stroke, fresh) }, LOCAL_ORIGIN)
    if (!alive) this.end() // someone erased it mid-stroke
  }

  end(): void {
    this.stroke = null
    this.last = null
    this.undoManager.stopCapturing()
  }

  /** Deletes the topmost stroke under the point (within `tolerance` of its ink), if any. */
  eraseAt(point: Point, tolerance = ERASER_TOLERANCE): void {
    const hit = strokeAt(readStrokes(this.doc), point, tolerance)
    if (!hit) return
    this.doc.transact(() => eraseStroke(this.doc, hit.id), LOCAL_ORIGIN)
    this.undoManager.stopCapturing()
  }

  undo(): void {
    this.end()
    this.undoManager.undo()
  }

  redo(): void {
    this.end()
    this.undoManager.redo()
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.pruneAfterOthers)
    this.undoManager.destroy()
  }

  private farEnough(points: readonly Point[]): Point[] {
    const fresh: Point[] = []
    for (const point of points) {
      const at = round(point)
      if (this.last && Math.hypot(at[0] - this.last[0], at[1] - this.last[1]) < MIN_STEP) continue
      fresh.push(at)
      this.last = at
    }
    return fresh
  }
}

/** Whether any of what a step inserted is still there (undoing it would delete something). */
function somethingLeft(transaction: Y.Transaction, insertions: Parameters<typeof Y.iterateDeletedStructs>[1]): boolean {
  let left = false
  Y.iterateDeletedStructs(transaction, insertions, (struct) => { if (!struct.deleted) left = true })
  return left
}

/** A tenth of a CSS pixel is finer than anyone can see, and keeps updates small. */
function round(point: Point): Point {
  return [Math.round(point[0] * 10) / 10, Math.round(point[1] * 10) / 10]
}
