/**
 * What a stored update (a snapshot piece, an accepted update) covers, so a room can answer a sync
 * without reading it again: per client, the clocks of its structs, and where its delete set
 * starts. A client whose state vector covers all of an update's clocks needs only its deletions;
 * one that covers none of them needs it whole; anything in between needs a diff.
 */
import { validateUpdateV1 } from '../wire/update-validator.ts'
import { encodeDeleteSet, type DeleteRange } from './delete-set.ts'

export interface UpdateInfo {
  /** Client id → [first clock, end clock) of its structs in the update. */
  clients: Map<number, [number, number]>
  /** Byte offset of the delete set within the update. */
  deleteSetStart: number
  /**
   * Some client's structs have a hole (a skip, or a jump in clocks): its range then spans clocks
   * the update does not hold (structRanges lists the exact ones). Absent when there is none.
   */
  holes?: true
}

export type Coverage = 'all' | 'none' | 'some'

/** Walks a (validated or trusted) update once. Throws DecodeError if it is malformed. */
export function updateInfo(update: Uint8Array): UpdateInfo {
  const clients = new Map<number, [number, number]>()
  let deleteSetStart = update.length
  let holes = false
  validateUpdateV1(update, {
    struct(client, clock, length, _start, _end, skip) {
      if (skip) return // a skip range holds nothing: it must not move a state vector
      const range = clients.get(client)
      if (!range) clients.set(client, [clock, clock + length])
      else {
        holes ||= clock > range[1]
        range[1] = Math.max(range[1], clock + length)
      }
    },
    deleteSet(start) {
      deleteSetStart = start
    },
  })
  return holes ? { clients, deleteSetStart, holes } : { clients, deleteSetStart }
}

/** The struct clocks an update holds, exactly: per client, `[client, first, end)` ranges (skips left out). */
export function structRanges(update: Uint8Array, info: UpdateInfo): Array<[number, number, number]> {
  if (!info.holes) return [...info.clients].map(([client, [first, end]]) => [client, first, end])
  const ranges: Array<[number, number, number]> = []
  validateUpdateV1(update, {
    struct(client, clock, length, _start, _end, skip) {
      if (skip) return
      const last = ranges.at(-1)
      if (last && last[0] === client && last[2] === clock) last[2] = clock + length
      else ranges.push([client, clock, clock + length])
    },
  })
  return ranges
}

/** An empty delete set is one byte (a zero count). */
export function hasDeletes(update: Uint8Array, info: UpdateInfo): boolean {
  return update.length - info.deleteSetStart > 1
}

/** How much of the update's structs a peer with `stateVector` already has. */
export function coverage(info: UpdateInfo, stateVector: ReadonlyMap<number, number>): Coverage {
  let all = true
  let none = true
  for (const [client, [first, end]] of info.clients) {
    const known = stateVector.get(client) ?? 0
    if (known < end) all = false
    if (known > first) none = false
  }
  return all ? 'all' : none ? 'none' : 'some'
}

/** The update's delete set alone, as an update with no structs. */
export function deletesOnly(update: Uint8Array, info: UpdateInfo): Uint8Array {
  const out = new Uint8Array(1 + update.length - info.deleteSetStart)
  out[0] = 0
  out.set(update.subarray(info.deleteSetStart), 1)
  return out
}

/** An update with no structs that deletes `ranges` (Yjs's V1 delete set). */
export function deletionUpdate(ranges: readonly DeleteRange[]): Uint8Array {
  const deleteSet = encodeDeleteSet(ranges)
  const update = new Uint8Array(deleteSet.length + 1) // a leading 0: no structs
  update.set(deleteSet, 1)
  return update
}

/** Extends a state vector with an update's structs that continue it (gaps do not count). */
export function extendVector(stateVector: Map<number, number>, info: UpdateInfo): void {
  for (const [client, [first, end]] of info.clients) {
    const known = stateVector.get(client) ?? 0
    if (first <= known && end > known) stateVector.set(client, end)
  }
}
