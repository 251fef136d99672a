/**
 * The parts an update from a socket is admitted in when it cannot be admitted whole: its foreign
 * part apart from the writer's own (room-intake.ts `admitApart`), and what of it is ready apart
 * from what waits for content nobody sent yet (`admitReadyPart`).
 */
import type { StructId } from '../wire/update-validator.ts'
import type { Verdict } from '../content/content-gate.ts'
import { keepStructRanges, type ClockRanges } from '../sync/struct-slice.ts'
import { separateClient, separateDeletedClient } from '../sync/split-update.ts'
import { encodeDeleteSet, readDeleteSet, type DeleteRange } from '../sync/delete-set.ts'
import { updateInfo } from '../sync/update-info.ts'

/**
 * The foreign part of an update (another user's structs; the deletions of one user's content the
 * rules leave to others) and what is left (the writer's own deletions stay with the structs they
 * delete: a message posted and deleted offline arrives as a deleted struct and its deletion).
 */
export function foreignApart(update: Uint8Array, verdict: Extract<Verdict, { kind: 'foreign' }>): [Uint8Array | null, Uint8Array | null] {
  if (verdict.wholeClient) return clientApart(update, verdict.missing.client)
  if (verdict.waitFor === 'content') {
    const { of, rest } = separateClient(update, verdict.missing.client)
    return [of, rest]
  }
  const { of, rest } = separateDeletedClient(update, verdict.missing.client)
  return [of, rest]
}

/**
 * An update cut where its `blocked` structs start (per client, from the first blocked clock on):
 * the structs before, and the rest with the deletions; null when nothing comes before.
 */
export function readyApart(update: Uint8Array, blocked: readonly StructId[]): { ready: Uint8Array; waiting: Uint8Array } | null {
  const cuts = new Map<number, number>()
  for (const { client, clock } of blocked) cuts.set(client, Math.min(cuts.get(client) ?? Infinity, clock))
  if (cuts.size === 0) return null
  const info = updateInfo(update)
  const before = (client: number): ClockRanges => {
    const [first, end] = info.clients.get(client) ?? [0, 0]
    const to = Math.min(end, cuts.get(client) ?? end)
    return to > first ? [[first, to]] : []
  }
  const from = (client: number): ClockRanges => {
    const cut = cuts.get(client)
    const [first, end] = info.clients.get(client) ?? [0, 0]
    return cut === undefined || cut >= end ? [] : [[Math.max(first, cut), end]]
  }
  if (![...info.clients.keys()].some((client) => before(client).length > 0)) return null
  // A deletion of what the ready part itself holds goes with it (a message posted and deleted
  // offline is a deleted struct and its deletion: apart, the struct would delete it unseen, with
  // no deletion anyone is credited with). A range reaching past the cut is cut there too.
  const [withReady, withWaiting] = cutDeletions(readDeleteSet(update, info.deleteSetStart), before)
  return {
    ready: withDeleteSet(keepStructRanges(update, before), encodeDeleteSet(withReady)),
    waiting: withDeleteSet(keepStructRanges(update, from), encodeDeleteSet(withWaiting)),
  }
}

/** A client's structs with its deletions, and the rest; each null when empty. */
function clientApart(update: Uint8Array, client: number): [Uint8Array | null, Uint8Array | null] {
  const { of: structs, rest } = separateClient(update, client)
  const { of: deletions, rest: others } = rest ? separateDeletedClient(rest, client) : { of: null, rest: null }
  if (!structs || !deletions) return [structs ?? deletions, others]
  // The structs' part ends with an empty delete set; the deletions' part is an empty struct section and a delete set.
  return [withDeleteSet(structs.subarray(0, structs.length - 1), deletions.subarray(1)), others]
}

/** The parts of a client's clock range the document does not hold. */
export type UnknownParts = (client: number, clock: number, length: number) => Array<[number, number]>

/**
 * An update's deletions of content the document lacks (they wait for it, as Yjs keeps a pending
 * delete set) apart from its structs and the deletions it can take now: of content the document
 * holds, or of the update's own structs. One pass, however many clients the deletions name; null
 * when nothing would be taken now (an update of waiting deletions alone waits whole).
 */
export function deletionsApart(update: Uint8Array, unknown: UnknownParts): { ready: Uint8Array; waiting: Uint8Array } | null {
  const info = updateInfo(update)
  const ready: DeleteRange[] = []
  const waiting: DeleteRange[] = []
  for (const range of readDeleteSet(update, info.deleteSetStart)) {
    if (info.clients.has(range.client)) {
      ready.push(range)
      continue
    }
    let clock = range.clock
    for (const [from, to] of unknown(range.client, range.clock, range.length)) {
      if (from > clock) ready.push({ client: range.client, clock, length: from - clock })
      waiting.push({ client: range.client, clock: from, length: to - from })
      clock = to
    }
    if (clock < range.clock + range.length) ready.push({ client: range.client, clock, length: range.clock + range.length - clock })
  }
  if (waiting.length === 0 || (info.clients.size === 0 && ready.length === 0)) return null
  return {
    ready: withDeleteSet(update.subarray(0, info.deleteSetStart), encodeDeleteSet(ready)),
    waiting: withDeleteSet(NO_STRUCTS, encodeDeleteSet(waiting)),
  }
}

/** The struct section of an update with none. */
const NO_STRUCTS = new Uint8Array([0])

/** Deletions split in two: the clocks inside the ranges `inside` gives per client, and the rest. */
export function cutDeletions(deletes: readonly DeleteRange[], inside: (client: number) => ClockRanges): [DeleteRange[], DeleteRange[]] {
  const [within, outside]: [DeleteRange[], DeleteRange[]] = [[], []]
  for (const range of deletes) {
    let clock = range.clock
    const end = range.clock + range.length
    for (const [first, to] of inside(range.client)) {
      const [from, until] = [Math.max(clock, first), Math.min(end, to)]
      if (from >= until) continue
      if (from > clock) outside.push({ client: range.client, clock, length: from - clock })
      within.push({ client: range.client, clock: from, length: until - from })
      clock = until
    }
    if (clock < end) outside.push({ client: range.client, clock, length: end - clock })
  }
  return [within, outside]
}

function withDeleteSet(structs: Uint8Array, deleteSet: Uint8Array): Uint8Array {
  const out = new Uint8Array(structs.length + deleteSet.length)
  out.set(structs)
  out.set(deleteSet, structs.length)
  return out
}
