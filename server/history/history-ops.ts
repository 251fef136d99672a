/**
 * History on documents (run in the doc worker): what changed between two states, making a
 * document equal to a kept version (as a new edit), and rolling back one person's changes. The
 * edits are made in the live document's materialized copy; the caller logs what they produce.
 *
 * Strokes and messages are matched by their ids. A restored stroke or message is a copy with the
 * same id, author and content: Yjs cannot undelete, and deleted content survives only in versions.
 */
import * as Y from 'yjs'
import { addStroke, readStroke, readStrokes, strokesOf, type Stroke } from '../../shared/canvas.ts'
import { messagesOf, readMessage, type ChatMessage } from '../../shared/chat.ts'
import type { RoomKind } from '../../shared/rooms.ts'
import { decodeSnapshot } from '../collab/compaction/snapshot-codec.ts'

export interface StrokeSummary {
  id: string
  author: string
  color: string
  points: number
}

export interface MessageSummary {
  id: string
  author: string
  text: string
  time: number
}

export interface HistoryDiff {
  strokes: { added: StrokeSummary[]; removed: StrokeSummary[]; changed: StrokeSummary[] }
  messages: { added: MessageSummary[]; removed: MessageSummary[] }
}

export interface RollbackResult {
  removed: Array<{ kind: 'stroke' | 'message'; id: string }>
  restored: Array<{ kind: 'stroke' | 'message'; id: string }>
  /** The strokes it brought back, as the items they are now (kept with the version before it). */
  copies: StrokeCopy[]
}

/**
 * A stroke a restore or a rollback brought back, as the Yjs item of its copy. Kept with the
 * version stored before that edit: once someone erases the copy, only this ties its item to the
 * stroke (Yjs forgets an erased stroke's content), and a later rollback needs to know whose
 * erasure came last.
 */
export interface StrokeCopy {
  id: string
  client: number
  clock: number
}

/** A copy made at `at` (the createdAt of the version kept before the edit that made it). */
export interface TimedCopy extends StrokeCopy {
  at: number
}

/** A kept version as a rollback reads it: its state and when it was taken. */
export interface RollbackSource {
  doc: Y.Doc
  at: number
}

/** What one user did since a time, as history recorded it. */
export interface UserEdits {
  /** Struct ranges they created: [client, first clock, end clock). */
  created: Array<[number, number, number]>
  /** What they deleted, as a deletions-only update. */
  deleted: Uint8Array
}

/** A kept version's state (snapshot codec) as a document. */
export function docFromState(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc()
  for (const piece of decodeSnapshot(state)) Y.applyUpdate(doc, piece)
  return doc
}

export function diffDocs(from: Y.Doc, to: Y.Doc): HistoryDiff {
  const before = new Map(readStrokes(from).map((s) => [s.id, s]))
  const after = new Map(readStrokes(to).map((s) => [s.id, s]))
  const oldMessages = new Map(readChat(from).map((m) => [m.id, m]))
  const newMessages = new Map(readChat(to).map((m) => [m.id, m]))
  return {
    strokes: {
      added: [...after.values()].filter((s) => !before.has(s.id)).map(strokeSummary),
      removed: [...before.values()].filter((s) => !after.has(s.id)).map(strokeSummary),
      changed: [...after.values()].filter((s) => before.has(s.id) && !sameStroke(s, before.get(s.id)!)).map(strokeSummary),
    },
    messages: {
      added: [...newMessages.values()].filter((m) => !oldMessages.has(m.id)).map(messageSummary),
      removed: [...oldMessages.values()].filter((m) => !newMessages.has(m.id)).map(messageSummary),
    },
  }
}

/**
 * Makes `doc` hold what `target` holds, in the same order: the longest common prefix stays, the
 * rest of `doc` is deleted, the rest of `target` is added as copies. Call inside a transaction.
 */
export function restoreTo(doc: Y.Doc, target: Y.Doc, kind: RoomKind): StrokeCopy[] {
  if (kind === 'canvas') {
    const strokes = strokesOf(doc)
    const wanted = readStrokes(target)
    const kept = commonPrefix(strokes.toArray().map(readStroke), wanted, sameStroke)
    strokes.delete(kept, strokes.length - kept)
    return wanted.slice(kept).map((stroke) => copyOf(stroke, addStroke(doc, stroke)))
  }
  const messages = messagesOf(doc)
  const wanted = readChat(target)
  const kept = commonPrefix(messages.toArray().map(readMessage), wanted, sameMessage)
  messages.delete(kept, messages.length - kept)
  if (kept < wanted.length) messages.push(wanted.slice(kept))
  return []
}

function copyOf(stroke: Stroke, map: Y.Map<unknown>): StrokeCopy {
  const item = map._item!
  return { id: stroke.id, client: item.id.client, clock: item.id.clock }
}

/**
 * What a rollback of one person since a time undoes, as the README defines it ("what shows as
 * theirs"): every stroke or message that shows as the person's (its `author`) and came onto the
 * document since then goes, whoever's edit put it there (their own drawing, or a restore that
 * brought back a copy of it); and on the canvas, what the person erased since then comes back,
 * whether by the eraser or by a restore they ran. A copy a restore brought back stays when it was
 * on the document at that time already (by `baseline`, the last version from before it).
 */
export interface RollbackInput {
  user: string
  /** The person's own edits since the time. */
  edits: UserEdits
  /** Struct ranges anyone (restores included) created since the time. */
  createdSince: Array<[number, number, number]>
  /** Ids of the strokes or messages on the document at the time (the last version before it); null: none known. */
  baseline: Set<string> | null
  /** Strokes restores and rollbacks brought back since the time, as their copies' items. */
  copies: TimedCopy[]
}

export interface RollbackPlan {
  removed: Array<{ kind: 'stroke' | 'message'; id: string; author: string }>
  restored: Array<{ kind: 'stroke' | 'message'; id: string; author: string }>
}

/** Ids of a kept state's strokes or messages. */
export function contentIds(doc: Y.Doc, kind: RoomKind): Set<string> {
  return new Set(kind === 'canvas' ? readStrokes(doc).map((s) => s.id) : readChat(doc).map((m) => m.id))
}

/** What `rollbackUser` would do, without doing it (a preview). */
export function planRollback(doc: Y.Doc, kind: RoomKind, input: RollbackInput, sources: RollbackSource[]): RollbackPlan {
  const goes = rollbackRule(input)
  if (kind === 'chat') {
    const removed: RollbackPlan['removed'] = []
    eachMessage(doc, (id, message) => { if (message && goes(id, message.author, message.id)) removed.push({ kind: 'message', id: message.id, author: message.author }) })
    return { removed, restored: [] }
  }
  const removed = strokesOf(doc).toArray().flatMap((map) => {
    const stroke = readStroke(map)
    return stroke && map._item && goes(map._item.id, stroke.author, stroke.id) ? [{ kind: 'stroke' as const, id: stroke.id, author: stroke.author }] : []
  })
  return { removed, restored: erasedStrokes(doc, input, sources).map((s) => ({ kind: 'stroke' as const, id: s.id, author: s.author })) }
}

/** Undoes what `planRollback` describes. Call inside a transaction. */
export function rollbackUser(doc: Y.Doc, kind: RoomKind, input: RollbackInput, sources: RollbackSource[]): RollbackResult {
  const goes = rollbackRule(input)
  if (kind === 'chat') return { removed: removeMessages(doc, (id, message) => message !== null && goes(id, message.author, message.id)), restored: [], copies: [] }
  const back = erasedStrokes(doc, input, sources)
  const removed = removeStrokes(doc, (map, stroke) => stroke !== null && map._item !== null && goes(map._item.id, stroke.author, stroke.id))
  const copies = back.map((stroke) => copyOf(stroke, addStroke(doc, stroke)))
  return { removed, restored: back.map((s) => ({ kind: 'stroke', id: s.id })), copies }
}

function rollbackRule(input: RollbackInput): (id: Y.ID, author: string, contentId: string) => boolean {
  const within = (ranges: Array<[number, number, number]>, id: Y.ID): boolean => ranges.some(([client, first, end]) => client === id.client && id.clock >= first && id.clock < end)
  return (id, author, contentId) => author === input.user &&
    (within(input.edits.created, id) || (within(input.createdSince, id) && !(input.baseline?.has(contentId) ?? false)))
}

/**
 * Strokes the person erased since the time that the document lacks, with their content from the
 * newest source holding each. A stroke comes back only when the last of its items known (in a
 * version, or a copy a restore or a rollback made) is one the person erased: when someone else
 * erased a copy brought back after hers, that later erasure stands. Nor does a stroke come back
 * that the rollback would remove (she drew it since the time: her drawing and her erasing both go).
 */
function erasedStrokes(doc: Y.Doc, input: RollbackInput, sources: RollbackSource[]): Stroke[] {
  const erased = Y.decodeUpdate(input.edits.deleted).ds
  const goes = rollbackRule(input)
  // What stays on the canvas: a stroke the rollback removes does not hold its id (a member may
  // draw a stroke under another's id before erasing the original, as a decoy).
  const present = new Set(strokesOf(doc).toArray().flatMap((map) => {
    const stroke = readStroke(map)
    return stroke && !(map._item && goes(map._item.id, stroke.author, stroke.id)) ? [stroke.id] : []
  }))
  const last = lastItems(sources, input.copies, goes)
  const back: Stroke[] = []
  for (const { doc: source } of sources) {
    for (const map of strokesOf(source).toArray()) {
      const stroke = readStroke(map)
      if (!stroke || present.has(stroke.id)) continue
      const item = last.get(stroke.id)
      if (!item || !Y.isDeleted(erased, item)) continue
      back.push(stroke)
      present.add(stroke.id)
    }
  }
  return back
}

/**
 * The last item each stroke had, by when it was seen: in a version (taken at), or made as a copy
 * (just after `at`). Items the rollback undoes (the person drew them since the time) are not
 * counted: her drawing under a stroke's id, and her erasing of it, both go.
 */
function lastItems(sources: RollbackSource[], copies: TimedCopy[], goes: ReturnType<typeof rollbackRule>): Map<string, Y.ID> {
  const last = new Map<string, { at: number; order: number; item: Y.ID }>()
  const see = (id: string, at: number, order: number, item: Y.ID): void => {
    const seen = last.get(id)
    if (!seen || at > seen.at || (at === seen.at && order > seen.order)) last.set(id, { at, order, item })
  }
  for (const { doc, at } of sources) {
    for (const map of strokesOf(doc).toArray()) {
      const stroke = readStroke(map)
      if (stroke && map._item && !goes(map._item.id, stroke.author, stroke.id)) see(stroke.id, at, 0, map._item.id)
    }
  }
  for (const copy of copies) see(copy.id, copy.at, 1, Y.createID(copy.client, copy.clock))
  return new Map([...last].map(([id, { item }]) => [id, item]))
}

/** Each message of the chat with its element's id. */
function eachMessage(doc: Y.Doc, visit: (id: Y.ID, message: ChatMessage | null) => void): void {
  const messages = messagesOf(doc)
  let index = 0
  for (let item = messages._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue
    for (let offset = 0; offset < item.length; offset++, index++) visit(Y.createID(item.id.client, item.id.clock + offset), readMessage(messages.get(index)))
  }
}

function removeStrokes(doc: Y.Doc, shouldGo: (map: Y.Map<unknown>, stroke: Stroke | null) => boolean): RollbackResult['removed'] {
  const strokes = strokesOf(doc)
  const removed: RollbackResult['removed'] = []
  for (let i = strokes.length - 1; i >= 0; i--) {
    const map = strokes.get(i)
    const stroke = readStroke(map)
    if (!shouldGo(map, stroke)) continue
    strokes.delete(i, 1)
    removed.push({ kind: 'stroke', id: stroke?.id ?? '' })
  }
  return removed.reverse()
}

/** Deletes the messages `goes` picks (by their element's id and content). */
function removeMessages(doc: Y.Doc, goes: (id: Y.ID, message: ChatMessage | null) => boolean): RollbackResult['removed'] {
  const messages = messagesOf(doc)
  const doomed: number[] = []
  let index = 0
  eachMessage(doc, (id, message) => { if (goes(id, message)) doomed.push(index); index++ })
  const removed: RollbackResult['removed'] = []
  for (const at of doomed.reverse()) {
    const message = readMessage(messages.get(at))
    messages.delete(at, 1)
    removed.push({ kind: 'message', id: message?.id ?? '' })
  }
  return removed.reverse()
}

function readChat(doc: Y.Doc): ChatMessage[] {
  return messagesOf(doc).toArray().map(readMessage).filter((m): m is ChatMessage => m !== null)
}

function commonPrefix<T>(current: Array<T | null>, wanted: T[], same: (a: T, b: T) => boolean): number {
  let i = 0
  while (i < current.length && i < wanted.length && current[i] !== null && same(current[i]!, wanted[i]!)) i++
  return i
}

function sameStroke(a: Stroke, b: Stroke): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function strokeSummary(stroke: Stroke): StrokeSummary {
  return { id: stroke.id, author: stroke.author, color: stroke.color, points: stroke.points.length }
}

function messageSummary(message: ChatMessage): MessageSummary {
  return { id: message.id, author: message.author, text: message.text, time: message.time }
}
