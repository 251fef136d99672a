/**
 * The canvas document's rules (shared/canvas.ts describes the shape):
 *   - only the root `strokes`, holding stroke maps;
 *   - a stroke's fields are id, author, color, width, tool and points, each bounded; its author is
 *     the user who created it, and only that user writes into it (fields and points);
 *   - points are coordinates within bounds, at most CANVAS_LIMITS.maxPointsPerStroke a stroke;
 *   - any editor may erase a stroke (delete it, and with it what it holds);
 *   - a stroke's id is not another live stroke's (history matches strokes by id: a decoy under an
 *     erased stroke's id would hide it from a rollback and a diff). An erased stroke's id is free
 *     again (a restore brings strokes back as copies under their ids). Two nodes taking one id
 *     at the same moment both keep it: ids are random, so only a hostile writer races for one,
 *     and history sees through a duplicate it made (history-ops.ts).
 */
import { CANVAS_LIMITS, isColor, isTool, STROKES_KEY } from '../../../shared/canvas.ts'
import { CONTENT, TYPE_REFS, type StructId } from '../wire/update-validator.ts'
import { itemValues } from './item-values.ts'
import type { DocumentRules, RuleContext } from './rules.ts'
import { COLLECTED } from './struct-index.ts'
import type { NewStruct } from './update-analysis.ts'

type Place =
  | { kind: 'strokes' }
  | { kind: 'field'; stroke: StructId; key: string }
  | { kind: 'points'; stroke: StructId }
  | { kind: 'collected' }
  | { kind: 'other' }

const FIELD_CHECKS: Record<string, (value: unknown, context: RuleContext) => string | null> = {
  id: (v) => (typeof v === 'string' && v.length > 0 && v.length <= CANVAS_LIMITS.maxIdLength ? null : 'a stroke id is a short string'),
  author: (v, c) => (v === c.writer ? null : 'a stroke\'s author must be the user who draws it'),
  color: (v) => (isColor(v) ? null : 'a stroke colour is #rrggbb'),
  width: (v) => (typeof v === 'number' && v >= CANVAS_LIMITS.minWidth && v <= CANVAS_LIMITS.maxWidth ? null : 'stroke width out of range'),
  tool: (v) => (isTool(v) ? null : 'unknown tool'),
}

function isCoordinate(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= CANVAS_LIMITS.maxCoordinate
}

export class CanvasRules implements DocumentRules {
  /** Numbers held by each stroke's points array, by the stroke's item id. */
  private readonly pointNumbers = new Map<string, number>()
  /** The stroke (its map's item id) that last took each stroke id. */
  private readonly strokeIds = new Map<string, StructId>()

  checkItem(struct: NewStruct, context: RuleContext): string | null {
    const place = placeOf(struct.container, context)
    if (place.kind === 'collected') return null
    if (place.kind === 'other') return 'not part of the canvas (only strokes in the root "strokes")'
    const values = itemValues(struct.bytes, struct.item!, struct.offset)
    if (place.kind === 'strokes') return values.kind === 'deleted' || (values.kind === 'type' && values.typeRef === TYPE_REFS.map) ? null : 'a stroke must be a map'
    if (context.creatorOf(place.stroke.client) !== context.writer) return 'only a stroke\'s author may change it'
    if (values.kind === 'deleted') return null
    if (values.kind === 'not-plain') return 'a stroke holds plain values only'
    if (place.kind === 'field') return checkField(place.key, values, context) ?? (place.key === 'id' ? this.idTaken(values, place.stroke, context) : null)
    if (values.kind !== 'values' || !values.values.every(isCoordinate)) return 'points are coordinates within bounds'
    const key = strokeKey(place.stroke)
    const earlier = context.tally.get(key) ?? 0
    context.tally.set(key, earlier + values.values.length)
    const total = (this.pointNumbers.get(key) ?? 0) + earlier + values.values.length
    return total <= 2 * CANVAS_LIMITS.maxPointsPerStroke ? null : `a stroke holds at most ${CANVAS_LIMITS.maxPointsPerStroke} points`
  }

  claimedAuthor(struct: NewStruct, context: RuleContext): string | undefined {
    const place = placeOf(struct.container, context)
    if (place.kind !== 'field' || place.key !== 'author' || struct.item === null) return undefined
    const values = itemValues(struct.bytes, struct.item, struct.offset)
    return values.kind === 'values' && typeof values.values[0] === 'string' ? values.values[0] : undefined
  }

  checkDelete(container: number, context: RuleContext): string | null {
    const place = placeOf(container, context)
    if (place.kind === 'collected' || place.kind === 'strokes') return null // erasing is for every editor
    if (place.kind !== 'other' && context.isDeleted(place.stroke)) return null // what an erased stroke held
    return 'only a stroke\'s author may change it; others may erase it whole'
  }

  saveState(): SavedEntry[] {
    return [...this.pointNumbers, ...[...this.strokeIds].map(([id, stroke]): SavedEntry => ({ id, stroke }))]
  }

  loadState(entries: unknown[]): void {
    for (const entry of entries as SavedEntry[]) {
      if (Array.isArray(entry)) this.pointNumbers.set(entry[0], entry[1])
      else this.strokeIds.set(entry.id, entry.stroke)
    }
  }

  observe(struct: NewStruct, context: RuleContext): void {
    if (struct.item === null) return
    const place = placeOf(struct.container, context)
    if (place.kind === 'field' && place.key === 'id') return this.observeId(struct, place.stroke)
    if (place.kind !== 'points' || struct.item.contentRef !== CONTENT.any) return
    const key = strokeKey(place.stroke)
    this.pointNumbers.set(key, (this.pointNumbers.get(key) ?? 0) + struct.length - struct.offset) // one clock per value
  }

  /** Why `stroke` may not take the id it sets: another live stroke holds it (here or earlier in this update). */
  private idTaken(values: ReturnType<typeof itemValues>, stroke: StructId, context: RuleContext): string | null {
    const id = values.kind === 'values' ? values.values[0] : undefined
    if (typeof id !== 'string') return null
    const holder = this.strokeIds.get(id)
    if (holder && !sameStruct(holder, stroke) && !context.isDeleted(holder)) return `stroke id ${id} is taken by another stroke`
    const [taken, takenByThis] = [`id:${id}`, `id:${id}:${stroke.client}:${stroke.clock}`]
    if (context.tally.has(taken) && !context.tally.has(takenByThis)) return `stroke id ${id} is taken by another stroke`
    context.tally.set(taken, 1)
    context.tally.set(takenByThis, 1)
    return null
  }

  private observeId(struct: NewStruct, stroke: StructId): void {
    const values = itemValues(struct.bytes, struct.item!, struct.offset)
    const id = values.kind === 'values' ? values.values[0] : undefined
    if (typeof id === 'string') this.strokeIds.set(id, stroke)
  }
}

function sameStruct(a: StructId, b: StructId): boolean {
  return a.client === b.client && a.clock === b.clock
}

type SavedEntry = [string, number] | { id: string; stroke: StructId }

function checkField(key: string, values: ReturnType<typeof itemValues>, context: RuleContext): string | null {
  if (key === 'points') return values.kind === 'type' && values.typeRef === TYPE_REFS.array ? null : 'points must be an array'
  // Own keys only: "__proto__", "constructor" and the like would find Object.prototype's members.
  const check = Object.hasOwn(FIELD_CHECKS, key) ? FIELD_CHECKS[key] : undefined
  if (!check) return `unknown stroke field "${key}"`
  if (values.kind !== 'values' || values.values.length !== 1) return `stroke field "${key}" must hold one value`
  return check(values.values[0], context)
}

/** Where a container sits in the canvas shape (at most three levels are ever looked up). */
function placeOf(container: number, context: RuleContext): Place {
  if (container === COLLECTED) return { kind: 'collected' }
  const { root, owner, key } = context.index.container(container)
  if (root !== null) return root === STROKES_KEY && key === null ? { kind: 'strokes' } : { kind: 'other' }
  const type = owner ? context.typeAt(owner) : undefined
  if (!owner || !type) return { kind: 'other' }
  if (type.typeRef === TYPE_REFS.map && key !== null && placeOf(type.container, context).kind === 'strokes') return { kind: 'field', stroke: owner, key }
  if (type.typeRef !== TYPE_REFS.array || key !== null) return { kind: 'other' }
  const holder = placeOf(type.container, context)
  return holder.kind === 'field' && holder.key === 'points' ? { kind: 'points', stroke: holder.stroke } : { kind: 'other' }
}

function strokeKey(id: StructId): string {
  return `${id.client}:${id.clock}`
}
