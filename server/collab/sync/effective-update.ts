/**
 * What of an update a document lacks: struct ranges beyond what it holds of each client, and
 * deletions of what it has not deleted yet. Only that is logged, counted, kept, relayed and
 * attributed: a client re-sending content the document has (a reconnect's sync step 2, a state
 * it got through another node) costs the document nothing.
 *
 * The usual update is new as a whole and comes back as it is, untouched; only an update that
 * overlaps what is held is rewritten (its structs cut by Yjs's `diffUpdate`, its delete set
 * reduced to the ranges not deleted yet).
 */
import * as Y from 'yjs'
import { encodeDeleteSet, readDeleteSet, type DeleteRange } from './delete-set.ts'
import { keepStructRanges } from './struct-slice.ts'
import { updateInfo, type UpdateInfo } from './update-info.ts'

/** What a document holds, as far as deciding what is new goes. */
export interface Knowledge {
  /** The first clock of `client` the document lacks (it holds every clock before it). */
  knownUpTo(client: number): number
  /** The parts of a range that are not deleted yet. */
  undeleted(client: number, clock: number, length: number): Array<[number, number]>
  /**
   * Struct ranges of `client` held past `knownUpTo` (beyond a gap: a snapshot keeps what Yjs held
   * pending) that overlap `[from, to)`; absent or empty for a document without a gap.
   */
  heldPast?(client: number, from: number, to: number): Array<[number, number]>
}

export interface Effective {
  update: Uint8Array
  info: UpdateInfo
}

/** The part of `update` the document lacks, or null when it lacks nothing of it. */
export function effectivePart(update: Uint8Array, info: UpdateInfo, known: Knowledge): Effective | null {
  const structs = structNews(info, known)
  const deletes = readDeleteSet(update, info.deleteSetStart)
  const fresh = deletes.flatMap((range) => known.undeleted(range.client, range.clock, range.length).map(([from, to]) => ({ client: range.client, clock: from, length: to - from })))
  if ((structs === 'none' || info.clients.size === 0) && fresh.length === 0) return null // nothing new (or nothing at all)
  if (structs === 'all' && sameClocks(deletes, fresh)) return { update, info }
  const head = structs === 'all' ? update.subarray(0, info.deleteSetStart) : structs === 'none' ? NO_STRUCTS : newStructs(update, info, known)
  const rewritten = concat(head, encodeDeleteSet(fresh))
  return { update: rewritten, info: updateInfo(rewritten) }
}

const NO_STRUCTS = new Uint8Array([0])

/** Whether the update's structs are all new, none of them, or some. */
function structNews(info: UpdateInfo, known: Knowledge): 'all' | 'none' | 'some' {
  let all = true
  let none = true
  for (const [client, [first, end]] of info.clients) {
    const lacking = lackingOf(known, client, first, end)
    const lacked = lacking.reduce((sum, [from, to]) => sum + to - from, 0)
    if (lacked < end - first) all = false
    if (lacked > 0) none = false
  }
  return all ? 'all' : none ? 'none' : 'some'
}

/** The parts of struct range `[first, end)` of `client` the document lacks. */
function lackingOf(known: Knowledge, client: number, first: number, end: number): Array<[number, number]> {
  const from = Math.max(first, known.knownUpTo(client))
  if (from >= end) return []
  const past = known.heldPast?.(client, from, end) ?? []
  const lacking: Array<[number, number]> = []
  let clock = from
  for (const [start, stop] of past) {
    if (start > clock) lacking.push([clock, Math.min(start, end)])
    clock = Math.max(clock, stop)
  }
  if (clock < end) lacking.push([clock, end])
  return lacking
}

/** The struct section of the update cut to what the document lacks. */
function newStructs(update: Uint8Array, info: UpdateInfo, known: Knowledge): Uint8Array {
  const gaps = [...info.clients].some(([client, [first, end]]) => (known.heldPast?.(client, Math.max(first, known.knownUpTo(client)), end) ?? []).length > 0)
  if (gaps) return keepStructRanges(update, (client) => lackingOf(known, client, ...(info.clients.get(client) ?? [0, 0])))
  const held = new Map<number, number>()
  for (const client of info.clients.keys()) held.set(client, known.knownUpTo(client))
  const diff = Y.diffUpdate(update, Y.encodeStateVector(held))
  return diff.subarray(0, updateInfo(diff).deleteSetStart)
}

function sameClocks(all: readonly DeleteRange[], fresh: readonly DeleteRange[]): boolean {
  const total = (ranges: readonly DeleteRange[]): number => ranges.reduce((sum, r) => sum + r.length, 0)
  return total(all) === total(fresh)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
