/**
 * What the server reads from, or writes to, a materialized document (in the doc worker): chat
 * pages, one message, the canvas as strokes or as a picture, and server-side edits. Edits run
 * under a client id the caller chose (bound to the acting user) and return the update they made;
 * the caller logs it before anyone else sees it.
 */
import * as Y from 'yjs'
import { readStrokes, type Stroke } from '../../../shared/canvas.ts'
import { renderCanvasSvg } from '../../../shared/canvas-svg.ts'
import { postMessage, readAllMessages, readMessages, type ChatMessage, type MessagePage, type NewMessage } from '../../../shared/chat.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { contentIds, diffDocs, docFromState, planRollback, restoreTo, rollbackUser, type HistoryDiff, type RollbackInput, type RollbackPlan, type RollbackResult, type RollbackSource, type StrokeCopy } from '../../history/history-ops.ts'

export type ViewOp =
  | { kind: 'messages'; limit?: number; before?: string }
  | { kind: 'message'; id: string }
  | { kind: 'strokes' }
  | { kind: 'svg'; maxBytes: number }
  | { kind: 'post'; clientId: number; message: NewMessage & { id: string; time: number } }
  /** What changed from a kept version to the live document. */
  | { kind: 'diff-from'; state: Uint8Array }
  | { kind: 'restore'; clientId: number; room: RoomKind; state: Uint8Array }
  | { kind: 'rollback'; clientId: number; room: RoomKind; rollback: RollbackStates }
  /** What that rollback would do, without doing it. */
  | { kind: 'rollback-plan'; room: RoomKind; rollback: RollbackStates }

/** A rollback's input as the worker gets it: versions as states (snapshot codec). */
export interface RollbackStates extends Omit<RollbackInput, 'baseline'> {
  /** Where erased strokes are found, newest first, each with when it was taken. */
  sources: Array<{ state: Uint8Array; at: number }>
  /** The last version from before the rollback's start, if any. */
  baseline: Uint8Array | null
}

export interface ViewResults {
  messages: MessagePage
  message: ChatMessage | null
  strokes: Stroke[]
  /** Null when the picture would be larger than `maxBytes`. */
  svg: string | null
  /** `created` is false when a message with that id was posted before (the post is idempotent). */
  post: { message: ChatMessage; created: boolean }
  'diff-from': HistoryDiff
  /** The strokes it brought back, as the items of their copies. */
  restore: { copies: StrokeCopy[] }
  rollback: RollbackResult
  'rollback-plan': RollbackPlan
}

export interface ViewAnswer<K extends ViewOp['kind']> {
  result: ViewResults[K]
  /** What an edit changed (null for reads, or an edit that changed nothing). */
  update: Uint8Array | null
}

export function runViewOp(doc: Y.Doc, op: ViewOp): ViewAnswer<ViewOp['kind']> {
  switch (op.kind) {
    case 'messages': return read(readMessages(doc, { ...(op.limit !== undefined && { limit: op.limit }), ...(op.before !== undefined && { before: op.before }) }))
    case 'message': return read(readAllMessages(doc).find((m) => m.id === op.id) ?? null)
    case 'strokes': return read(readStrokes(doc))
    case 'svg': return read(svgWithin(readStrokes(doc), op.maxBytes))
    case 'post': {
      const existing = readAllMessages(doc).find((m) => m.id === op.message.id)
      if (existing) return read({ message: existing, created: false })
      return edit(doc, op.clientId, () => ({ message: postMessage(doc, op.message), created: true }))
    }
    case 'diff-from': return read(diffDocs(docFromState(op.state), doc))
    case 'restore': return edit(doc, op.clientId, () => ({ copies: restoreTo(doc, docFromState(op.state), op.room) }))
    case 'rollback': {
      const [input, sources] = rollbackInput(op.room, op.rollback)
      return edit(doc, op.clientId, () => rollbackUser(doc, op.room, input, sources))
    }
    case 'rollback-plan': return read(planRollback(doc, op.room, ...rollbackInput(op.room, op.rollback)))
  }
}

function rollbackInput(kind: RoomKind, states: RollbackStates): [RollbackInput, RollbackSource[]] {
  const baseline = states.baseline ? contentIds(docFromState(states.baseline), kind) : null
  const sources = states.sources.map(({ state, at }) => ({ doc: docFromState(state), at }))
  return [{ user: states.user, edits: states.edits, createdSince: states.createdSince, baseline, copies: states.copies }, sources]
}

function read<T>(result: T): { result: T; update: null } {
  return { result, update: null }
}

/** Runs `change` as one transaction under `clientId`; the update is exactly what it changed. */
function edit<T>(doc: Y.Doc, clientId: number, change: () => T): { result: T; update: Uint8Array | null } {
  let update: Uint8Array | null = null
  const capture = (made: Uint8Array): void => { update = made }
  doc.clientID = clientId
  doc.on('update', capture)
  try {
    return { result: doc.transact(change), update }
  } finally {
    doc.off('update', capture)
  }
}

/** Point count bounds the SVG's size (each point is a few characters): refuse before rendering. */
function svgWithin(strokes: Stroke[], maxBytes: number): string | null {
  const points = strokes.reduce((sum, stroke) => sum + stroke.points.length, 0)
  if (points * 8 > maxBytes) return null
  const svg = renderCanvasSvg(strokes)
  return svg.length > maxBytes ? null : svg
}
