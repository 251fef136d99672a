/**
 * Updates merged into blocks for sending: fewer frames and transactions for the client, at a
 * bounded cost for the server. Yjs's merge re-sorts its decoders at every client run, so its cost
 * grows with runs × updates: a few hundred updates that each write one clock under hundreds of
 * client ids (all within the write and new-id budgets) would take seconds of the main thread in
 * one merge. A block therefore ends at a number of updates or of client runs, whichever comes
 * first; an update wider than a block is sent as it is. Blocks are merged one per event-loop turn:
 * a fresh client of a room holding a thousand updates since its snapshot made ~40 ms of merging
 * in one turn (figure 4's profile).
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import * as Y from 'yjs'
import type { UpdateInfo } from './update-info.ts'

/** A block holds at most this many updates. */
export const BLOCK_UPDATES = 128
/** ...and at most this many client runs (an update's clients, summed). */
export const BLOCK_RUNS = 512

export interface BlockInput {
  update: Uint8Array
  info: UpdateInfo
}

/** Where each block ends (exclusive indexes into `updates`), scanning from `start`. Only closed blocks are returned, plus the open tail when `closeTail`. */
export function blockEnds(updates: readonly BlockInput[], start: number, closeTail: boolean): number[] {
  const ends: number[] = []
  let count = 0
  let runs = 0
  for (let i = start; i < updates.length; i++) {
    const width = updates[i]!.info.clients.size
    if (count > 0 && (count === BLOCK_UPDATES || runs + width > BLOCK_RUNS)) {
      ends.push(i)
      count = 0
      runs = 0
    }
    count++
    runs += width
  }
  if (closeTail && count > 0) ends.push(updates.length)
  return ends
}

/** The updates in [start, end) as one update (merged when more than one). */
export function mergeBlock(updates: readonly BlockInput[], start: number, end: number): Uint8Array {
  return end - start === 1 ? updates[start]!.update : Y.mergeUpdates(updates.slice(start, end).map((u) => u.update))
}

/** One block of `mergeInTurns`: updates [start, end) merged; a closed block is full (the same updates always make it). */
export interface MergedBlock {
  update: Uint8Array
  start: number
  end: number
  closed: boolean
}

/** Every update, merged in blocks, one block per event-loop turn; `onBlock` hears of each as it is made. */
export async function mergeInTurns(updates: readonly BlockInput[], onBlock?: (block: MergedBlock) => void): Promise<Uint8Array[]> {
  const closedCount = blockEnds(updates, 0, false).length
  const merged: Uint8Array[] = []
  let start = 0
  for (const [i, end] of blockEnds(updates, 0, true).entries()) {
    if (i > 0) await nextTurn()
    const update = mergeBlock(updates, start, end)
    onBlock?.({ update, start, end, closed: i < closedCount })
    merged.push(update)
    start = end
  }
  return merged
}
