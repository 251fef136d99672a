/**
 * The canvas document: an ordered list of strokes (list order is paint order).
 *
 *   doc.getArray('strokes'): Y.Array<Y.Map>
 *     stroke map: id, author, color, width, tool, points: Y.Array<number> (flat x,y pairs)
 *
 * Points grow while a stroke is drawn (`appendPoints`); erasing deletes the stroke.
 * Readers treat the document as untrusted: anything malformed is skipped, never thrown.
 */
import * as Y from 'yjs'
import { newId } from './ids.ts'

export const STROKES_KEY = 'strokes'
export const TOOLS = ['pen', 'marker', 'highlighter'] as const
export type Tool = (typeof TOOLS)[number]

export const CANVAS_LIMITS = {
  minWidth: 0.5,
  maxWidth: 200,
  maxCoordinate: 1_000_000,
  maxIdLength: 64,
  /** The server refuses points beyond this; a client starts a new stroke instead. */
  maxPointsPerStroke: 50_000,
} as const

export type Point = readonly [x: number, y: number]

export interface Stroke {
  id: string
  author: string
  color: string
  width: number
  tool: Tool
  points: Point[]
}

export interface NewStroke {
  author: string
  color: string
  width: number
  tool: Tool
  id?: string
  points?: readonly Point[]
}

const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/

export function isColor(value: unknown): value is string {
  return typeof value === 'string' && COLOR_PATTERN.test(value)
}

export function isTool(value: unknown): value is Tool {
  return typeof value === 'string' && (TOOLS as readonly string[]).includes(value)
}

function isWidth(value: unknown): value is number {
  return typeof value === 'number' && value >= CANVAS_LIMITS.minWidth && value <= CANVAS_LIMITS.maxWidth
}

function isCoordinate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= CANVAS_LIMITS.maxCoordinate
}

export function strokesOf(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
  return doc.getArray<Y.Map<unknown>>(STROKES_KEY)
}

/** Throws on input a well-behaved client would never produce. */
export function assertValidStroke(stroke: NewStroke): void {
  if (!isColor(stroke.color)) throw new Error('color must be #rrggbb')
  if (!isWidth(stroke.width)) throw new Error(`width must be ${CANVAS_LIMITS.minWidth}..${CANVAS_LIMITS.maxWidth}`)
  if (!isTool(stroke.tool)) throw new Error(`tool must be one of ${TOOLS.join(', ')}`)
  if (stroke.author.length === 0 || stroke.author.length > CANVAS_LIMITS.maxIdLength) throw new Error('bad author')
  for (const point of stroke.points ?? []) assertValidPoint(point)
}

function assertValidPoint(point: Point): void {
  if (!isCoordinate(point[0]) || !isCoordinate(point[1])) throw new Error('bad point')
}

function flatten(points: readonly Point[]): number[] {
  const flat: number[] = []
  for (const point of points) {
    assertValidPoint(point)
    flat.push(point[0], point[1])
  }
  return flat
}

/** Adds a stroke at the top of the paint order and returns its shared map (keep it to append points). */
export function addStroke(doc: Y.Doc, stroke: NewStroke): Y.Map<unknown> {
  assertValidStroke(stroke)
  const map = new Y.Map<unknown>()
  const points = new Y.Array<number>()
  points.push(flatten(stroke.points ?? []))
  map.set('id', stroke.id ?? newId())
  map.set('author', stroke.author)
  map.set('color', stroke.color)
  map.set('width', stroke.width)
  map.set('tool', stroke.tool)
  map.set('points', points)
  strokesOf(doc).push([map])
  return map
}

/**
 * Appends points to a stroke being drawn. Returns false if the stroke is gone (erased meanwhile)
 * or full (CANVAS_LIMITS.maxPointsPerStroke): the caller then starts a new stroke.
 */
export function appendPoints(stroke: Y.Map<unknown>, points: readonly Point[]): boolean {
  const list = stroke.get('points')
  if (!(list instanceof Y.Array) || stroke.doc === null) return false
  if (list.length / 2 + points.length > CANVAS_LIMITS.maxPointsPerStroke) return false
  list.push(flatten(points))
  return true
}

export function findStroke(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
  for (const item of strokesOf(doc)) {
    if (item instanceof Y.Map && item.get('id') === id) return item
  }
  return undefined
}

/** Erasing deletes the stroke. Returns false when no stroke has that id. */
export function eraseStroke(doc: Y.Doc, id: string): boolean {
  const strokes = strokesOf(doc)
  let index = 0
  for (const item of strokes) {
    if (item instanceof Y.Map && item.get('id') === id) {
      strokes.delete(index, 1)
      return true
    }
    index++
  }
  return false
}

function readPoints(value: unknown): Point[] {
  if (!(value instanceof Y.Array)) return []
  const flat = value.toArray()
  const points: Point[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const x = flat[i]
    const y = flat[i + 1]
    if (isCoordinate(x) && isCoordinate(y)) points.push([x, y])
  }
  return points
}

/** Reads one stroke map, or null if any field is malformed. */
export function readStroke(item: unknown): Stroke | null {
  if (!(item instanceof Y.Map)) return null
  const { id, author, color, width, tool } = item.toJSON() as Record<string, unknown>
  if (typeof id !== 'string' || typeof author !== 'string') return null
  if (!isColor(color) || !isWidth(width) || !isTool(tool)) return null
  return { id, author, color, width, tool, points: readPoints(item.get('points')) }
}

/** All well-formed strokes in paint order. */
export function readStrokes(doc: Y.Doc): Stroke[] {
  const strokes: Stroke[] = []
  for (const item of strokesOf(doc)) {
    const stroke = readStroke(item)
    if (stroke) strokes.push(stroke)
  }
  return strokes
}
