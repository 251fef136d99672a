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

/**
 * An update's deletions under `client` (content the document lacks: they wait for it) apart from
 * its structs and other deletions (ready now); null when nothing is left beside them.
 */
export function deletionApart(update: Uint8Array, client: number): { ready: Uint8Array; waiting: Uint8Array } | null {
  const { of, rest } = separateDeletedClient(update, client)
  return of && rest ? { ready: rest, waiting: of } : null
}

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
