/**
 * `canvas.changed` events from the updates a compaction folds (each cut to what the document
 * lacked), coalesced per second of log time: strokes added, appended to (with the points added),
 * and erased, with their ids and authors. The windows are cut per compaction: a second that a
 * compaction splits gives two events (at default settings a room compacts every
 * COMPACT_EVERY_UPDATES updates, or COMPACT_IDLE_MS after its last one).
 *
 * The canvas rules fix the document's shape, which makes items easy to place: a map item is a
 * stroke, an array item its points, an `any` item with a map key one of the stroke's fields, and
 * one without a key a run of points. A run of points names its array only when it starts the
 * array; otherwise it follows another run (its origin), which the item index places.
 */
import type { TimedUpdate } from '../history/edit-records.ts'
import type { NewEvent } from '../storage/feed-types.ts'
import type { ItemIndex } from './item-index.ts'
import { splitUpdate } from '../collab/sync/split-update.ts'
import { readUpdate, type DeletedRange, type ItemView } from './structs.ts'

interface StrokeRef {
  id: string
  author: string
}

/** What one second of drawing did. */
interface Window {
  at: number
  firstKey: string
  lastKey: string
  writers: Set<string>
  added: Map<string, StrokeRef & { points: number }>
  appended: Map<string, StrokeRef & { points: number }>
  erased: Map<string, StrokeRef & { by: string | null }>
}

const WINDOW_MS = 1_000
/** Strokes named per list of one event (clearing a big canvas erases thousands in a second): the rest are counted. */
const MAX_LISTED = 500

/** Bytes of an update decoded per turn (a 10 MiB upload decoded whole held the event loop ~1.4 s with its garbage collection: figure 7). */
const READ_PIECE_BYTES = 64 * 1024
/** Items placed between two looks at the turn's time. */
const ITEMS_PER_LOOK = 256

export async function canvasChanges(updates: readonly (TimedUpdate & { key: string })[], index: ItemIndex, yieldDue: () => Promise<void>, pieceBytes = READ_PIECE_BYTES): Promise<NewEvent[]> {
  const windows: Window[] = []
  for (const update of updates) {
    const read = await readInPieces(update.update, pieceBytes, yieldDue)
    if (!read) continue
    const window = windowFor(windows, update)
    await placeItems(read.items, index, window, yieldDue)
    for (const range of read.deleted) {
      for (const stroke of await index.within('stroke', range.client, range.clock, range.clock + range.length)) {
        index.drop(stroke)
        window.erased.set(stroke.id, { id: stroke.id, author: stroke.author, by: update.writer || null })
      }
      await yieldDue()
    }
    await yieldDue()
  }
  return windows.filter(hasChanges).map(eventOf)
}

/**
 * An update's items and deletions, decoded a piece per turn. The pieces' items are gathered
 * before any is placed: a stroke's map and its `id` or `author` may fall in different pieces,
 * and a stroke is only known once both are read. Unreadable (any piece): null, as read whole.
 */
async function readInPieces(update: Uint8Array, pieceBytes: number, yieldDue: () => Promise<void>): Promise<{ items: ItemView[]; deleted: DeletedRange[] } | null> {
  const pieces = piecesOf(update, pieceBytes)
  if (pieces.length === 1) return readUpdate(update)
  const whole: { items: ItemView[]; deleted: DeletedRange[] } = { items: [], deleted: [] }
  for (const piece of pieces) {
    const read = readUpdate(piece)
    if (!read) return null
    for (const item of read.items) whole.items.push(item)
    for (const range of read.deleted) whole.deleted.push(range)
    await yieldDue()
  }
  return whole
}

/** Pieces at struct boundaries, items in order and deletions in the last; one that does not split is read whole. */
function piecesOf(update: Uint8Array, pieceBytes: number): Uint8Array[] {
  try {
    return splitUpdate(update, pieceBytes)
  } catch {
    return [update]
  }
}

function windowFor(windows: Window[], update: TimedUpdate & { key: string }): Window {
  const last = windows.at(-1)
  if (last && Math.floor(last.at / WINDOW_MS) === Math.floor(update.at / WINDOW_MS)) {
    last.lastKey = update.key
    if (update.writer) last.writers.add(update.writer)
    return last
  }
  const window: Window = { at: update.at, firstKey: update.key, lastKey: update.key, writers: new Set(update.writer ? [update.writer] : []), added: new Map(), appended: new Map(), erased: new Map() }
  windows.push(window)
  return window
}

async function placeItems(items: ItemView[], index: ItemIndex, window: Window, yieldDue: () => Promise<void>): Promise<void> {
  const strokes = new Map<string, { item: ItemView; id?: string; author?: string }>()
  for (const [n, item] of items.entries()) {
    if (n % ITEMS_PER_LOOK === 0) await yieldDue()
    if (item.content.kind === 'map') strokes.set(idKey(item), { item })
    else if (item.content.kind === 'any' && item.parentSub !== null && item.parent && typeof item.parent !== 'string') {
      const stroke = strokes.get(idKey(item.parent))
      const value = item.content.values.at(-1)
      if (stroke && typeof value === 'string' && (item.parentSub === 'id' || item.parentSub === 'author')) stroke[item.parentSub] = value
    }
  }
  for (const { item, id, author } of strokes.values()) {
    if (id === undefined || author === undefined) continue
    index.put({ kind: 'stroke', client: item.client, start: item.clock, end: item.clock + 1, id, author })
    window.added.set(id, { id, author, points: 0 })
  }
  for (const [n, item] of items.entries()) {
    if (n % ITEMS_PER_LOOK === 0) await yieldDue()
    if (item.content.kind === 'array' && item.parentSub === 'points' && item.parent && typeof item.parent !== 'string') {
      const stroke = await index.at('stroke', item.parent.client, item.parent.clock)
      if (stroke) index.put({ kind: 'points', client: item.client, start: item.clock, end: item.clock + 1, id: stroke.id, author: stroke.author })
    } else if (item.content.kind === 'any' && item.parentSub === null) await placePoints(item, item.content.values.length, index, window)
  }
}

async function placePoints(item: ItemView, values: number, index: ItemIndex, window: Window): Promise<void> {
  const stroke = await strokeOfPoints(item, index)
  if (!stroke) return
  await index.extend({ kind: 'pointrange', client: item.client, start: item.clock, end: item.clock + item.length, id: stroke.id, author: stroke.author })
  const added = window.added.get(stroke.id)
  if (added) {
    added.points += values / 2 // a new stroke's first points are part of adding it
    return
  }
  const appended = window.appended.get(stroke.id)
  if (appended) appended.points += values / 2
  else window.appended.set(stroke.id, { id: stroke.id, author: stroke.author, points: values / 2 })
}

/** The stroke a run of points belongs to: through its array, or the run it follows or precedes. */
async function strokeOfPoints(item: ItemView, index: ItemIndex): Promise<StrokeRef | null> {
  if (item.parent && typeof item.parent !== 'string') return index.at('points', item.parent.client, item.parent.clock)
  for (const neighbour of [item.origin, item.rightOrigin]) {
    if (!neighbour) continue
    const run = await index.at('pointrange', neighbour.client, neighbour.clock)
    if (run) return run
  }
  return null
}

function hasChanges(window: Window): boolean {
  return window.added.size + window.appended.size + window.erased.size > 0
}

function eventOf(window: Window): NewEvent {
  const writers = [...window.writers]
  return {
    key: `canvas:${window.firstKey}..${window.lastKey}`,
    type: 'canvas.changed',
    at: window.at,
    actor: writers.length === 1 ? writers[0]! : null,
    data: { by: writers, ...listed('added', window.added), ...listed('appended', window.appended), ...listed('erased', window.erased) },
  }
}

/** `{name: first MAX_LISTED}`, plus `<name>More: n` when there were more. */
function listed<T>(name: string, map: Map<string, T>): Record<string, unknown> {
  const all = [...map.values()]
  return all.length <= MAX_LISTED ? { [name]: all } : { [name]: all.slice(0, MAX_LISTED), [`${name}More`]: all.length - MAX_LISTED }
}

function idKey(id: { client: number; clock: number }): string {
  return `${id.client}:${id.clock}`
}
