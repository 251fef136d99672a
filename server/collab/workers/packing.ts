/**
 * Bytes posted to a worker thread, packed. Posting a typed array clones its whole ArrayBuffer,
 * not just the bytes it views: the pieces of a room loaded from storage are views into the one
 * buffer the snapshot was read into, so posting a 1 KB piece of a 10 MiB snapshot copied all
 * 10 MiB (~40 ms here), and again for every message that carried a piece of it (a full fold's
 * base goes in ten). Packing copies just the viewed bytes, once, into one new buffer that the
 * message then moves to the worker (transfers) instead of cloning.
 */

export interface Packed<T> {
  value: T
  /** The new buffer, to pass as the message's transfer list (empty when there are no bytes). */
  transfer: ArrayBuffer[]
}

/** Copies of `arrays` side by side in one new buffer, in order. */
export function packArrays(arrays: readonly Uint8Array[]): Packed<Uint8Array[]> {
  const total = arrays.reduce((sum, array) => sum + array.length, 0)
  if (total === 0) return { value: arrays.map(() => new Uint8Array(0)), transfer: [] }
  const buffer = new ArrayBuffer(total)
  let offset = 0
  const value = arrays.map((array) => {
    const copy = new Uint8Array(buffer, offset, array.length)
    copy.set(array)
    offset += array.length
    return copy
  })
  return { value, transfer: [buffer] }
}

/** `updates` with their bytes packed (every other field as it is). */
export function packUpdates<T extends { update: Uint8Array }>(updates: readonly T[]): Packed<T[]> {
  const packed = packArrays(updates.map((u) => u.update))
  return { value: updates.map((u, i) => ({ ...u, update: packed.value[i]! })), transfer: packed.transfer }
}

/** Consecutive arrays in groups of at most `bytes` in all (a bigger array alone). */
export function inGroups(arrays: readonly Uint8Array[], bytes: number): Uint8Array[][] {
  const groups: Uint8Array[][] = []
  let size = Number.POSITIVE_INFINITY
  for (const array of arrays) {
    if (size + array.length > bytes) {
      groups.push([])
      size = 0
    }
    groups.at(-1)!.push(array)
    size += array.length
  }
  return groups
}
